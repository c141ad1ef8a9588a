#!/bin/sh
# GPU preflight of the `train` target: log the driver and device, and fail fast when TensorFlow
# (libtensorflow 2.9.1 inside tfjs-node-gpu 4.22, built for CUDA 11.2 + cuDNN 8.1) cannot use the
# GPU, instead of silently training on the CPU for hours. `serve` and PMS_REQUIRE_GPU=0 skip it.
set -eu

if [ "${1:-}" = "train" ] && [ "${PMS_REQUIRE_GPU:-1}" = "1" ]; then
  if ! command -v nvidia-smi >/dev/null 2>&1; then
    echo "GPU preflight: nvidia-smi not found — start the container with the NVIDIA runtime (Batch: a GPU resource requirement), or set PMS_REQUIRE_GPU=0 to train on the CPU" >&2
    exit 70
  fi
  if ! nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader >&2; then
    echo "GPU preflight: nvidia-smi sees no usable GPU" >&2
    exit 70
  fi
  # The highest CUDA version the driver supports must cover the image's CUDA 11.2.
  driver_cuda=$(nvidia-smi | sed -n 's/.*CUDA Version: *\([0-9][0-9]*\.[0-9][0-9]*\).*/\1/p' | head -n 1)
  echo "GPU preflight: driver supports CUDA ${driver_cuda:-unknown}; image has CUDA ${CUDA_VERSION:-11.2} + cuDNN ${NV_CUDNN_VERSION:-8.1}" >&2
  if [ -n "$driver_cuda" ] && ! awk -v have="$driver_cuda" 'BEGIN { split(have, v, "."); exit !((v[1] > 11) || (v[1] == 11 && v[2] >= 2)) }'; then
    echo "GPU preflight: the driver supports CUDA ${driver_cuda} only; CUDA 11.2 needs driver >= 460.27 — use a newer AMI/driver" >&2
    exit 70
  fi
  # TensorFlow must place ops on the GPU (fails on a CUDA/cuDNN mismatch or an unsupported GPU).
  if ! TF_CPP_MIN_LOG_LEVEL=0 node --input-type=module -e "
      const tf = await import('@tensorflow/tfjs-node-gpu');
      tf.matMul(tf.ones([64, 64]), tf.ones([64, 64])).dataSync();
    " 2>/tmp/preflight.log; then
    cat /tmp/preflight.log >&2
    echo "GPU preflight: @tensorflow/tfjs-node-gpu failed to load (CUDA 11.2 / cuDNN 8.1 libraries?)" >&2
    exit 70
  fi
  if ! grep -q "device:GPU:0" /tmp/preflight.log; then
    grep -iE "cuda|cudnn|gpu|error" /tmp/preflight.log >&2 || true
    echo "GPU preflight: TensorFlow created no GPU device — CUDA/cuDNN mismatch or unsupported GPU (kernels ship for sm_75, T4/g4dn)" >&2
    exit 70
  fi
  grep "device:GPU:0" /tmp/preflight.log | head -n 1 >&2
fi

exec node /app/main.mjs "$@"
