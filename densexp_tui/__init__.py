"""densexp: a terminal workbench for dense experimentation on foundation models."""

import os

__version__ = "0.1.0"

# transformers' TensorFlow models are Keras 2 models: TensorFlow must load tf_keras, never
# Keras 3. This has to happen before anything imports TensorFlow, so it lives here.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
# Quiet TensorFlow's C++ logging; what still gets through goes to the run's log file.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Nothing may reach the hub unless the user asked for a hub id (see engine.models).
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
