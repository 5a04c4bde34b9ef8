"""Speed: ours against PyTorch side by side, profiles, XLA settings (print ratios, assert nothing)."""
