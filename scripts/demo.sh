#!/usr/bin/env bash
# Set up, then run the main job: the MLPerf Tiny VWW int8 model becomes a C
# project (out/vww), verified bit-exact against TFLM and compared side by side.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
MODEL="${1:-../shared/models/mlperf_vww_96_int8.tflite}"
tinyengine convert "$MODEL" --out out/vww --name vww
tinyengine compare "$MODEL" --name vww --samples 10
