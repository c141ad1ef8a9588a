import type { ArtifactStore } from "../ports/artifact-store.ts";
import * as tf from "./tf.ts";

export const MODEL_JSON = "model.json";
export const WEIGHTS_BIN = "weights.bin";

/**
 * A TF.js IOHandler over an ArtifactStore folder (`model.json` + `weights.bin`, the layout
 * `tf.loadLayersModel` and tfjs-node's `file://` handler use). Written by hand because `file://`
 * handlers only exist in tfjs-node, and S3 needs the store anyway.
 */
export class ArtifactStoreIOHandler implements tf.io.IOHandler {
  private readonly folder: string;

  constructor(
    private readonly store: ArtifactStore,
    folderUri: string,
  ) {
    this.folder = folderUri.endsWith("/") ? folderUri : `${folderUri}/`;
  }

  async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
    const weightData = artifacts.weightData ?? new ArrayBuffer(0);
    const weights = new Uint8Array(
      weightData instanceof ArrayBuffer ? weightData : tf.io.CompositeArrayBuffer.join(weightData),
    );
    const modelJson: tf.io.ModelJSON = {
      modelTopology: artifacts.modelTopology ?? {},
      format: artifacts.format ?? "pms-session-gru",
      generatedBy: artifacts.generatedBy ?? `TensorFlow.js v${tf.version_core}`,
      convertedBy: artifacts.convertedBy ?? null,
      weightsManifest: [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs ?? [] }],
    };
    // Weights first: a folder with model.json always has the weights it names.
    await this.store.put(`${this.folder}${WEIGHTS_BIN}`, weights, { contentType: "application/octet-stream" });
    await this.store.put(`${this.folder}${MODEL_JSON}`, JSON.stringify(modelJson), {
      contentType: "application/json",
    });
    return {
      modelArtifactsInfo: {
        dateSaved: new Date(),
        modelTopologyType: "JSON",
        weightDataBytes: weights.byteLength,
      },
    };
  }

  async load(): Promise<tf.io.ModelArtifacts> {
    const modelJson = JSON.parse(await this.store.getText(`${this.folder}${MODEL_JSON}`)) as tf.io.ModelJSON;
    const manifest = modelJson.weightsManifest?.[0];
    if (!manifest) throw new Error(`${this.folder}${MODEL_JSON} has no weightsManifest`);
    const parts = await Promise.all(manifest.paths.map((path) => this.store.get(`${this.folder}${path}`)));
    const buffers = parts.map((part) => part.slice().buffer as ArrayBuffer);
    return {
      modelTopology: modelJson.modelTopology,
      format: modelJson.format,
      generatedBy: modelJson.generatedBy,
      weightSpecs: manifest.weights,
      weightData: buffers.length === 1 ? (buffers[0] as ArrayBuffer) : tf.io.CompositeArrayBuffer.join(buffers),
    };
  }
}
