"""Code generation targets beyond the host: Cortex-M cores emulated by QEMU."""
