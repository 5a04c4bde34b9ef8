"""noisy_meta: learning from imperfect supervision in NLP, in JAX/Flax."""
