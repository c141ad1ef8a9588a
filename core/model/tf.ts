/**
 * TensorFlow.js as this project uses it: tfjs-core, its gradients, and the CPU backend (the wasm
 * backend registers in backend.ts; tfjs-node in the training image). Every module imports `tf` from
 * here rather than the @tensorflow/tfjs umbrella, which adds layers, the converter, tfjs-data and
 * WebGL that nothing here uses (about 220 MB of node_modules).
 */
import "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
// tfjs-core's Node build registers no gradients; without them tf.grad fails ("gradient function not
// found for Sum"). Generated from tfjs-core by scripts/tfjs-gradients.mjs.
import "./tfjs-gradients.generated.cjs";

export * from "@tensorflow/tfjs-core";
