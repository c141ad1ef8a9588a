import * as tf from "@tensorflow/tfjs";

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
