import type { TrainingParameters } from "../pipeline/execution-input.ts";

/**
 * `training-metrics.json`, written next to `model.tar.gz` by the training entry point. Evaluation
 * and the local twin's report read it; the same validation figures are in the model's metadata.
 */

/** Ranking quality on the validation split: every position of every session predicts the next item. */
export interface ValidationMetrics {
  readonly "hr@20": number;
  readonly "mrr@20": number;
  /** How many next-item predictions the figures average over. */
  readonly testPoints: number;
}

/** How the GRU and the session-kNN were blended, and what each scored on validation. */
export interface BlendValidation {
  /** The kNN share w of `(1 − w)·p + w·s/max(s)`, chosen on validation (0 = the GRU alone). */
  readonly weight: number;
  /** The GRU alone (the best epoch's weights). */
  readonly gru: ValidationMetrics;
  /** The blend at `weight`, with the neighbours drawn from the training split only. */
  readonly hybrid: ValidationMetrics;
}

export interface EpochMetrics {
  /** 1-based. */
  readonly epoch: number;
  /** Mean training loss over the epoch's mini-batches. */
  readonly loss: number;
  readonly validation: ValidationMetrics;
  /** Wall time of the epoch's training pass (validation excluded). */
  readonly seconds: number;
  /** Training examples (next-item targets) per second of the training pass. */
  readonly samplesPerSecond: number;
}

export interface TrainingMetrics {
  readonly runId: string;
  /** The TF.js backend that trained: `tensorflow` (tfjs-node / -gpu), `wasm` or `cpu`. */
  readonly backend: string;
  /** The device the backend reported (a GPU's name, or "cpu"). */
  readonly device?: string;
  readonly hyperparameters: TrainingParameters;
  readonly epochs: readonly EpochMetrics[];
  /** The epoch whose weights were kept (best validation HR@20). */
  readonly bestEpoch: number;
  readonly stoppedEarly: boolean;
  /** Validation figures of the model as served: the blend (`blend.hybrid`). */
  readonly validation: ValidationMetrics;
  readonly blend: BlendValidation;
  readonly totals: {
    readonly seconds: number;
    readonly trainingSeconds: number;
    readonly samples: number;
    readonly samplesPerSecond: number;
    readonly trainingSessions: number;
    readonly validationSessions: number;
    /** Items in the vocabulary (after `minItemCount`), without the padding/out-of-vocabulary slots. */
    readonly vocabularySize: number;
    readonly parameters: number;
  };
  /** `contentHash` of the data manifest the model was trained on, when one was given. */
  readonly dataManifestHash: string | null;
  readonly codeVersion: string;
  /** The splits the GRU learned from: `["train"]` for the evaluated model, `["train", "test"]` for the served one. */
  readonly trainedOnSplits?: readonly ("train" | "test")[];
  readonly completedAt: string;
}
