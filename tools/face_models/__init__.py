"""Conversion of MediaPipe's face models to the ONNX files in core/assets/face_models (development only)."""
