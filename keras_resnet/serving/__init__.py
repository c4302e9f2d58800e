"""Serving (needs TensorFlow): `export` writes and verifies TF Serving SavedModels; `tf_serving_check`
loads one the way the model server does, in a process of its own."""
