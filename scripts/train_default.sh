#!/usr/bin/env bash
# Reproduce the bundled checkpoint mm_robot/resources/checkpoints/fusion_default.
#
#   scripts/train_default.sh [WORK_DIR]      (default WORK_DIR: /tmp/mm_robot_default)
#
# 1. renders the dataset with the MuJoCo world (seed 0; 96,000 training frames, ~13 min with 2 workers),
# 2. trains on the first 48,000 of them with DDP over 2 processes of one CPU thread each (gloo;
#    24 samples per process per step = batch 48; stage 1 contrastive, stage 2 multi-task with
#    attention pooling, colour-word tokens and re-worded commands; ~60 min on 2 cores),
# 3. fine-tunes that model on all 96,000 frames with the WordNet shape-word token switched on
#    (--init-from; 9,000 steps, ~28 min),
# 4. evaluates on the held-out splits and copies the model (safetensors + config + card)
#    into the package. Every step resumes if re-run.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${1:-/tmp/mm_robot_default}"
PY="${PYTHON:-python}"
export HF_HUB_OFFLINE=1 MUJOCO_GL="${MUJOCO_GL:-egl}" OMP_NUM_THREADS=1
cd "$HERE"
nice -n 10 "$PY" -c "import sys; from mm_robot.training import datagen_main; sys.exit(datagen_main(sys.argv[1:]))" \
  --out "$WORK/data" --source sim --train 96000 --eval 600 --seed 0 --workers "${WORKERS:-2}" --no-progress
NPROC="${NPROC:-2}"
nice -n 10 "$PY" -m torch.distributed.run --standalone --nproc_per_node "$NPROC" -m mm_robot.training.trainer \
  --data "$WORK/data" --train-limit 48000 --out "$WORK/run" --stage1-steps "${STAGE1:-300}" --stage2-steps "${STAGE2:-18000}" \
  --batch-size $((48 / NPROC)) --lr 2e-3 --threads 1 --log-every 100 --eval-every 2000 --ckpt-every 500 \
  --set pooling='"attention"' --set colour_lexicon=true --rephrase 0.5 --max-minutes "${MAX_MINUTES:-70}" --resume
nice -n 10 "$PY" -m torch.distributed.run --standalone --nproc_per_node "$NPROC" -m mm_robot.training.trainer \
  --data "$WORK/data" --out "$WORK/tuned" --init-from "$WORK/run/model" --set shape_lexicon=true \
  --stage1-steps 0 --stage2-steps "${TUNE_STEPS:-9000}" --batch-size $((48 / NPROC)) --lr 1e-3 --threads 1 \
  --log-every 100 --eval-every 1000 --ckpt-every 500 --rephrase 0.5 --max-minutes "${MAX_MINUTES:-70}" --resume
DEST="$HERE/mm_robot/resources/checkpoints/fusion_default"
mkdir -p "$DEST"
cp "$WORK/tuned/model/"{config.json,model.safetensors,README.md,eval.json,eval.md,metrics.json} "$DEST/"
cp "$WORK/tuned/metrics.csv" "$WORK/tuned/metrics.png" "$DEST/"
cp "$WORK/run/metrics.csv" "$DEST/metrics_base.csv"
cp "$WORK/run/metrics.png" "$DEST/metrics_base.png"
"$PY" scripts/bench_model.py --checkpoint "$DEST" --json "$DEST/bench.json"
