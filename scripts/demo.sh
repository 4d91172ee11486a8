#!/usr/bin/env bash
# Set up, then the main job: TinyNAS end to end on the offline VWW demo data (no download) --
# a small supernet, a search under a 24 kB SRAM / 48 kB Flash model budget, QAT, int8 export,
# the C folder generated, built and verified bit-exact against TFLM, the side-by-side table
# printed. Everything lands in out/vww_demo (report.md, plots, vww.tflite, vww/).
# A rerun resumes: finished stages are skipped. Extra arguments go to mcunet-vww.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mcunet-vww --preset=demo --sram_kb=24 --flash_kb=48 --out_dir=out/vww_demo "$@"
