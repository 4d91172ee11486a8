"""mcunet_tf: TinyNAS supernet, search, QAT and export for microcontrollers."""
