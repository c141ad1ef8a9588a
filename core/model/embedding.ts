import * as tf from "./tf.ts";

/**
 * Row lookup whose gradient is a `tf.scatterND` (duplicates summed) instead of TF.js's stock
 * gather gradient (UnsortedSegmentSum), which the wasm backend does not register and the cpu
 * backend runs for minutes per batch. Every differentiable lookup of the model — item embeddings,
 * tied output rows, output biases, scored positions — goes through here.
 */
export function gatherRows(table: tf.Tensor, indices: tf.Tensor1D): tf.Tensor {
  // The indices are handed to `save`: a forward pass runs in a tidy scope that would otherwise
  // dispose them before the backward pass reads them.
  const lookup = tf.customGrad((...inputs) => {
    const source = inputs[0] as tf.Tensor;
    const save = inputs[1] as tf.GradSaveFunc;
    const shape = source.shape as number[];
    save([indices]);
    return {
      value: tf.gather(source, indices),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.scatterND(tf.expandDims(saved[0] as tf.Tensor, 1), dy, shape),
    };
  });
  return lookup(table);
}

/**
 * `a · b` (optionally transposed) computed with untransposed matmuls only, forward and backward.
 * The wasm backend runs a transposed BatchMatMul on a generic loop about ten times slower than
 * the XNNPACK path (measured: [100×100]·[1100×100]ᵀ 21 ms vs 1.9 ms with an explicit transpose),
 * and TF.js's own matMul gradient uses exactly those transposed forms.
 */
export function matMul(a: tf.Tensor2D, b: tf.Tensor2D, transposeA = false, transposeB = false): tf.Tensor2D {
  const product = tf.customGrad((...inputs) => {
    const left = transposeA ? tf.transpose(inputs[0] as tf.Tensor2D) : (inputs[0] as tf.Tensor2D);
    const right = transposeB ? tf.transpose(inputs[1] as tf.Tensor2D) : (inputs[1] as tf.Tensor2D);
    (inputs[2] as tf.GradSaveFunc)([left, right]);
    return {
      value: tf.matMul(left, right) as tf.Tensor,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [savedLeft, savedRight] = saved as [tf.Tensor2D, tf.Tensor2D];
        const dLeft = tf.matMul(dy as tf.Tensor2D, tf.transpose(savedRight));
        const dRight = tf.matMul(tf.transpose(savedLeft), dy as tf.Tensor2D);
        return [transposeA ? tf.transpose(dLeft) : dLeft, transposeB ? tf.transpose(dRight) : dRight];
      },
    };
  });
  return product(a, b) as tf.Tensor2D;
}

/**
 * A dense `[rows, columns]` tensor holding `values[i]` at `indices[i]` (duplicates summed) whose
 * gradient reaches `values` (`gatherND` of the incoming gradient): TF.js registers no gradient for
 * ScatterNd.
 */
export function scatterDense(indices: tf.Tensor2D, values: tf.Tensor1D, shape: [number, number]): tf.Tensor2D {
  const scatter = tf.customGrad((...inputs) => {
    const source = inputs[0] as tf.Tensor1D;
    const save = inputs[1] as tf.GradSaveFunc;
    save([indices]);
    return {
      value: tf.scatterND(indices, source, shape),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.gatherND(dy, saved[0] as tf.Tensor),
    };
  });
  return scatter(values) as tf.Tensor2D;
}

/**
 * Mean softmax cross-entropy of `logits` `[n, classes]` against integer `labels` `[n]`, with the
 * gradient `(softmax − one-hot) / n` written out. TF.js's `losses.softmaxCrossEntropy` needs a dense
 * one-hot and runs `exp` over the logits twice (log-sum-exp forward, softmax backward) on the wasm
 * backend's scalar Exp kernel — a third of a training step; the fused Softmax kernel runs once here.
 */
export function sparseSoftmaxCrossEntropy(logits: tf.Tensor2D, labels: Int32Array): tf.Scalar {
  const [rows, classes] = logits.shape;
  const picked = Int32Array.from(labels, (label, row) => row * classes + label);
  const loss = tf.customGrad((...inputs) => {
    const source = inputs[0] as tf.Tensor2D;
    const save = inputs[1] as tf.GradSaveFunc;
    const probabilities = tf.softmax(source);
    save([probabilities]);
    const targetProbabilities = tf.gather(tf.reshape(probabilities, [-1]), tf.tensor1d(picked, "int32"));
    // Floored so an underflowed target probability reports a large loss instead of Infinity.
    return {
      value: tf.neg(tf.mean(tf.log(tf.maximum(targetProbabilities, 1e-30)))),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.mul(tf.sub(saved[0] as tf.Tensor, tf.oneHot(tf.tensor1d(labels, "int32"), classes)), tf.div(dy, rows)),
    };
  });
  return loss(logits) as tf.Scalar;
}
