"""noisy_meta: learning from imperfect supervision in NLP (JAX/Flax)."""
import setuptools

setuptools.setup(
    name="noisy_meta",
    version="0.1.0",
    description="AUM / data maps for mislabelled data and MLRC meta-learning for relation classification, in JAX/Flax.",
    packages=setuptools.find_packages(include=["noisy_meta", "noisy_meta.*"]),
    # explorer.html's skeleton, styles and scripts (noisy_meta/reports/explorer.py
    # reads them with importlib.resources): files, not Python strings.
    package_data={"noisy_meta.reports": ["assets/*.html", "assets/*.css", "assets/*.js"]},
    python_requires=">=3.11",  # jax >= 0.7 needs 3.11.
    install_requires=[
        "jax>=0.7",
        "flax>=0.11",
        "optax",
        "orbax-checkpoint",
        "tensorflow-datasets",
        "importlib_resources",  # TFDS needs it to prepare GLUE without TensorFlow.
        "array_record",  # TFDS array_record format: data_source without TensorFlow.
        "transformers>=4.40",
        "tokenizers",
        "safetensors",
        "numpy",
        "absl-py",
        "ml-collections",
        "tensorboardX",  # TensorBoard event files without TensorFlow.
        # noisy_meta.analyze returns its per-example table as a DataFrame, as
        # cleanlab's find_label_issues does (cleanlab depends on it too).
        "pandas",
        # The progress bar on a terminal (core/progress.py); transformers needs it too.
        "tqdm",
        "matplotlib",  # PNG figures of the AUM report.
        # SemEval -> TACRED schema conversion (noisy_meta/data/semeval.py);
        # the English model comes from scripts/setup.sh.
        "spacy>=3.8,<3.9",
    ],
    extras_require={
        # aum: the AUM authors' reference package, to check our AUM values.
        # pytest-xdist: scripts/test.sh runs the suite on every core (up to 4).
        # cleanlab: the AUM job's confident-learning detector (detect.folds > 0).
        # playwright: drives Debian's Chromium (scripts/setup.sh) in the explorer's
        # browser test and bench/speed/explorer_load.py; no browser download needed.
        # hypothesis: property-based tests of the readers, the config schema and
        # the API (random bytes, truncations, extreme values; tests/conftest.py
        # fixes its profile so the suite's time is bounded and deterministic).
        "test": ["pytest", "pytest-xdist", "chex", "aum", "nbclient", "nbformat",
                 "ipykernel", "cleanlab", "playwright", "hypothesis"],
        "cleanlab": ["cleanlab"],
        # PyTorch only for parity tests and benchmarks; install the CPU build
        # with `pip install torch==2.13.0` (an unpinned torch pulls CUDA).
        # cleanlab: confident learning, a peer in bench/parity/aum_peers.py.
        "bench": ["torch", "cleanlab"],
    },
)
