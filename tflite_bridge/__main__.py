"""`python -m tflite_bridge MODEL.tflite`: same as the tflite-bridge command."""

from tflite_bridge.cli import run

if __name__ == "__main__":
    run()
