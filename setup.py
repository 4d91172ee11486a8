"""mcunet-tf: MCUNet (TinyNAS + TinyEngine) for the TensorFlow/Keras ecosystem."""

from setuptools import find_packages, setup

setup(
    name="mcunet-tf",
    version="0.1.0",
    description="TinyNAS in Keras and a bit-exact static-memory C engine for int8 TFLite models",
    python_requires=">=3.10",
    packages=find_packages(include=["mcunet_tf*", "tflite_bridge*", "engine*"]),
    package_data={"engine": ["kernels/*.c", "kernels/*.h", "codegen/templates/*", "frontend/*.c", "frontend/*.h",
                            "target/templates/*", "target/*.json"]},
    install_requires=[
        "numpy>=1.26",
        "ai-edge-litert==2.3.0",
        "tflite-micro==0.dev20261023182759",
        "flatbuffers>=24.3",
        "absl-py~=1.2",
        "tqdm",
        "matplotlib",
        "scikit-image",  # offline VWW demo images (mcunet_tf/datasets/demo.py)
        "pillow",
    ],
    extras_require={
        "train": [
            "tensorflow==2.21.0",
            "tf-keras==2.21.0",
            "tensorflow-model-optimization==0.8.1",
        ],
        "test": ["pytest", "pytest-xdist", "hypothesis", "nbclient", "nbformat", "ipykernel"],
        "bench": ["scikit-learn"],  # offline digits for bench/tinynas_accuracy.py
    },
    entry_points={
        "console_scripts": [
            "tflite-bridge=tflite_bridge.cli:run",
            "tinyengine=engine.cli:run",
            "mcunet-kws=mcunet_tf.apps.kws:run",
            "mcunet-vww=mcunet_tf.apps.vww:run",
        ]
    },
)
