import type { TimedSession } from "../baselines/sknn.ts";
import { hitRate, meanReciprocalRank } from "../evaluation/metrics.ts";
import type { TrainingParameters } from "../pipeline/execution-input.ts";
import { gatherRows, sparseSoftmaxCrossEntropy } from "./embedding.ts";
import { type Batch, lengthBucketedBatches, type Sequence, toBatch, toSequences } from "./examples.ts";
import { createModelWeights, type ModelConfig, parameterCount, SessionModel, WEIGHT_NAMES } from "./gru4rec.ts";
import { BlendTuner, NEIGHBOUR_DEFAULTS, SessionNeighbours } from "./neighbours.ts";
import { SeededRandom } from "./random.ts";
import { sessionItemPairs } from "./session-items.ts";
import * as tf from "./tf.ts";
import type { BlendValidation, EpochMetrics, ValidationMetrics } from "./training-metrics.ts";
import { ItemVocabulary } from "./vocabulary.ts";

/** Negatives are drawn ∝ count^α (GRU4Rec's sample_alpha); the logits are corrected by log q. */
const SAMPLE_ALPHA = 0.75;
const VALIDATION_K = 20;
/** The kNN share when there is no validation split to tune it on: the middle of the region that won on RSC15. */
export const UNTUNED_BLEND_WEIGHT = 0.3;

/** A training session: its items, and its start time when known (orders the neighbours by recency). */
export type TrainingSession = readonly string[] | TimedSession;

function timed(sessions: readonly TrainingSession[]): TimedSession[] {
  return sessions.map((session, index) =>
    Array.isArray(session)
      ? { items: session as readonly string[], session_start_ms: index }
      : (session as TimedSession),
  );
}

export interface TrainingProgress {
  readonly epoch: number;
  readonly epochs: number;
  readonly batch: number;
  readonly batches: number;
  /** Mean loss of the epoch so far. */
  readonly loss: number;
  readonly samplesPerSecond: number;
  /** Estimated seconds until the last epoch ends (early stopping may end sooner). */
  readonly etaSeconds: number;
}

export interface TrainingCallbacks {
  readonly onProgress?: (progress: TrainingProgress) => void;
  readonly onEpochEnd?: (metrics: EpochMetrics) => void;
  /** Called every `progressEvery` batches (default 20). */
  readonly progressEvery?: number;
}

export interface TrainingResult {
  readonly model: SessionModel;
  readonly vocabulary: ItemVocabulary;
  /** The session-kNN over every training and validation session, with the tuned blend weight. */
  readonly neighbours: SessionNeighbours;
  readonly blend: BlendValidation;
  readonly epochs: EpochMetrics[];
  readonly bestEpoch: number;
  readonly stoppedEarly: boolean;
  /** The served model's validation figures: the blend's. */
  readonly validation: ValidationMetrics;
  readonly trainingSeconds: number;
  readonly samples: number;
  readonly parameters: number;
}

export class TrainingDataError extends Error {
  override readonly name = "TrainingDataError";
}

/** Cumulative distribution for sampling negatives ∝ count^α, and each item's log-probability. */
class NegativeSampler {
  private readonly cumulative: Float64Array;
  readonly logProbability: Float32Array;

  constructor(counts: readonly number[]) {
    const weights = counts.map((count) => count ** SAMPLE_ALPHA);
    const total = weights.reduce((a, b) => a + b, 0);
    this.cumulative = new Float64Array(weights.length);
    this.logProbability = new Float32Array(weights.length + 1);
    let running = 0;
    weights.forEach((weight, position) => {
      running += weight / total;
      this.cumulative[position] = running;
      this.logProbability[position + 1] = Math.log(weight / total);
    });
  }

  /** `count` item indices (1..V), with replacement. */
  sample(count: number, random: SeededRandom): number[] {
    const drawn: number[] = [];
    const last = this.cumulative.length - 1;
    for (let n = 0; n < count; n++) {
      const u = random.next();
      let low = 0;
      let high = last;
      while (low < high) {
        const middle = (low + high) >> 1;
        if ((this.cumulative[middle] as number) < u) low = middle + 1;
        else high = middle;
      }
      drawn.push(low + 1);
    }
    return drawn;
  }
}

/** Validation batches of whole sequences, shortest first (little padding, no dropout). */
function validationBatches(sequences: readonly Sequence[], batchSize: number): Batch[] {
  const sorted = [...sequences].sort((a, b) => a.inputs.length - b.inputs.length);
  const batches: Batch[] = [];
  for (let start = 0; start < sorted.length; start += batchSize) {
    const batch = toBatch(sorted.slice(start, start + batchSize));
    if (batch.positions.length > 0) batches.push(batch);
  }
  return batches;
}

/** The model's logits at every scored position of a batch, repeat scores included: `[positions, items]`. */
function scoredLogits(model: SessionModel, batch: Batch): tf.Tensor2D {
  const representation = model.encode(tf.tensor2d(batch.inputs, [batch.size, batch.length], "int32"), { dropout: 0 });
  const scored = tf.gather(representation, tf.tensor1d(batch.positions, "int32"));
  const pairs = sessionItemPairs(batch.inputs, batch.length, batch.positions);
  return tf.add(
    model.scoreAll(scored),
    model.repeatScores(pairs, batch.positions.length, model.config.vocabularySize),
  ) as tf.Tensor2D;
}

/** Ranks (0-based; how many items score strictly higher) of each scored target. */
export function validationRanks(model: SessionModel, sequences: readonly Sequence[], batchSize = 256): Int32Array {
  const ranks: number[] = [];
  for (const batch of validationBatches(sequences, batchSize)) {
    const batchRanks = tf.tidy(() => {
      const items = model.config.vocabularySize;
      const scores = scoredLogits(model, batch);
      const targetCells = Int32Array.from(batch.targets, (target, row) => row * items + target - 1);
      const targetScores = tf.reshape(tf.gather(tf.reshape(scores, [-1]), tf.tensor1d(targetCells, "int32")), [-1, 1]);
      return tf.sum(tf.cast(tf.greater(scores, targetScores), "int32"), 1);
    });
    ranks.push(...(batchRanks.dataSync() as Int32Array));
    batchRanks.dispose();
  }
  return Int32Array.from(ranks);
}

/**
 * Chooses the kNN share of the blend on the validation sequences, with neighbours drawn from the
 * training split only (the validation sessions must not vote for themselves).
 */
export function tuneBlend(
  model: SessionModel,
  sequences: readonly Sequence[],
  neighbours: SessionNeighbours,
  batchSize = 256,
): BlendValidation {
  const tuner = new BlendTuner(neighbours);
  const items = model.config.vocabularySize;
  for (const batch of validationBatches(sequences, batchSize)) {
    const probabilities = tf.tidy(() => tf.softmax(scoredLogits(model, batch)));
    const prefixes = Array.from(batch.positions, (position) => {
      const rowStart = position - (position % batch.length);
      return Array.from(batch.inputs.subarray(rowStart, position + 1));
    });
    tuner.add(probabilities.dataSync() as Float32Array, items, prefixes, batch.targets);
    probabilities.dispose();
  }
  return tuner.best();
}

export function validationMetrics(ranks: Int32Array): ValidationMetrics {
  return {
    "hr@20": hitRate(ranks, VALIDATION_K),
    "mrr@20": meanReciprocalRank(ranks, VALIDATION_K),
    testPoints: ranks.length,
  };
}

/**
 * Trains the session model: length-bucketed mini-batches of whole sessions (every position
 * scored), softmax cross-entropy over the batch's targets plus `negativeSamples` shared negatives
 * with log-q correction (the exact softmax over the catalogue when `negativeSamples` covers it),
 * Adam, validation HR@20 after each epoch, early stopping with the best epoch's weights kept.
 */
export async function trainSessionModel(
  trainInput: readonly TrainingSession[],
  validationInput: readonly TrainingSession[],
  parameters: TrainingParameters,
  callbacks: TrainingCallbacks = {},
): Promise<TrainingResult> {
  const random = new SeededRandom(parameters.seed);
  const train = timed(trainInput);
  const validation = timed(validationInput);
  const trainSessions = train.map((session) => session.items);
  const validationSessions = validation.map((session) => session.items);
  const vocabulary = ItemVocabulary.build(trainSessions, parameters.minItemCount);
  if (vocabulary.size < 2) {
    throw new TrainingDataError(
      `The training data has ${vocabulary.size} item(s) seen at least minItemCount=${parameters.minItemCount} times; at least 2 are needed`,
    );
  }
  const trainSequences = toSequences(
    trainSessions.map((session) => vocabulary.encode(session)),
    parameters.maxLength,
  );
  const validationSequences = toSequences(
    validationSessions.map((session) => vocabulary.encode(session)),
    parameters.maxLength,
  );
  if (trainSequences.length === 0) {
    throw new TrainingDataError("No training session has two or more known items: nothing to learn from");
  }
  const config: ModelConfig = {
    vocabularySize: vocabulary.size,
    embeddingDim: parameters.embeddingDim,
    hiddenDim: parameters.hiddenDim,
    maxLength: parameters.maxLength,
  };
  const model = new SessionModel(config, createModelWeights(config, random));
  const variables = WEIGHT_NAMES.map((name) => model.weights[name]);
  const optimizer = tf.train.adam(parameters.learningRate);
  const fullSoftmax = parameters.negativeSamples >= vocabulary.size;
  const sampler = new NegativeSampler(vocabulary.counts);
  const logQ = tf.tensor1d(sampler.logProbability);
  const progressEvery = callbacks.progressEvery ?? 20;

  const lossOf = (batch: Batch, seed: number): tf.Scalar => {
    const representation = model.encode(tf.tensor2d(batch.inputs, [batch.size, batch.length], "int32"), {
      dropout: parameters.dropout,
      seed,
    });
    const scored = gatherRows(representation, tf.tensor1d(batch.positions, "int32")) as tf.Tensor2D;
    if (fullSoftmax) {
      const labels = Int32Array.from(batch.targets, (target) => target - 1);
      const pairs = sessionItemPairs(batch.inputs, batch.length, batch.positions);
      const logits = tf.add(model.scoreAll(scored), model.repeatScores(pairs, batch.positions.length, vocabulary.size));
      return sparseSoftmaxCrossEntropy(logits as tf.Tensor2D, labels);
    }
    // Candidates: every target in the batch (in-batch negatives), every item the batch reads (so
    // repeat scores have a column) plus shared sampled negatives.
    const column = new Map<number, number>();
    for (const item of batch.targets) if (!column.has(item)) column.set(item, column.size);
    for (const item of batch.inputs) if (item !== 0 && !column.has(item)) column.set(item, column.size);
    for (const item of sampler.sample(parameters.negativeSamples, random))
      if (!column.has(item)) column.set(item, column.size);
    const candidates = tf.tensor1d(Int32Array.from(column.keys()), "int32");
    const labels = Int32Array.from(batch.targets, (target) => column.get(target) as number);
    const pairs = sessionItemPairs(batch.inputs, batch.length, batch.positions, (item) => column.get(item));
    const logits = tf.add(
      tf.sub(model.scoreCandidates(scored, candidates), tf.gather(logQ, candidates)),
      model.repeatScores(pairs, batch.positions.length, column.size),
    );
    return sparseSoftmaxCrossEntropy(logits as tf.Tensor2D, labels);
  };

  const epochs: EpochMetrics[] = [];
  let best: { epoch: number; validation: ValidationMetrics; values: tf.Tensor[] } | undefined;
  let stoppedEarly = false;
  let trainingSeconds = 0;
  let samples = 0;
  const started = performance.now();
  let batchesDone = 0;
  for (let epoch = 1; epoch <= parameters.epochs; epoch++) {
    const batches = lengthBucketedBatches(trainSequences, parameters.batchSize, random);
    const epochStarted = performance.now();
    let lossSum = 0;
    let epochSamples = 0;
    for (let index = 0; index < batches.length; index++) {
      const batch = batches[index] as Batch;
      const seed = random.seed();
      const loss = optimizer.minimize(() => lossOf(batch, seed), true, variables) as tf.Scalar;
      lossSum += (await loss.data())[0] as number;
      loss.dispose();
      epochSamples += batch.positions.length;
      batchesDone++;
      if (callbacks.onProgress && ((index + 1) % progressEvery === 0 || index === batches.length - 1)) {
        const elapsed = (performance.now() - started) / 1000;
        const perBatch = elapsed / batchesDone;
        const seconds = (performance.now() - epochStarted) / 1000;
        callbacks.onProgress({
          epoch,
          epochs: parameters.epochs,
          batch: index + 1,
          batches: batches.length,
          loss: lossSum / (index + 1),
          samplesPerSecond: epochSamples / Math.max(seconds, 1e-9),
          etaSeconds: perBatch * (batches.length * (parameters.epochs - epoch) + batches.length - index - 1),
        });
      }
    }
    const seconds = (performance.now() - epochStarted) / 1000;
    trainingSeconds += seconds;
    samples += epochSamples;
    const validation = validationMetrics(validationRanks(model, validationSequences));
    const metrics: EpochMetrics = {
      epoch,
      loss: lossSum / Math.max(1, batches.length),
      validation,
      seconds,
      samplesPerSecond: epochSamples / Math.max(seconds, 1e-9),
    };
    epochs.push(metrics);
    callbacks.onEpochEnd?.(metrics);
    const improved =
      !best ||
      validationSequences.length === 0 ||
      validation["hr@20"] > best.validation["hr@20"] ||
      (validation["hr@20"] === best.validation["hr@20"] && validation["mrr@20"] > best.validation["mrr@20"]);
    if (improved) {
      for (const value of best?.values ?? []) value.dispose();
      best = { epoch, validation, values: variables.map((variable) => tf.clone(variable)) };
    } else if (epoch - (best?.epoch ?? 0) > parameters.patience) {
      stoppedEarly = epoch < parameters.epochs;
      break;
    }
  }
  if (best) {
    variables.forEach((variable, index) => {
      variable.assign(best?.values[index] as tf.Tensor);
    });
    for (const value of best.values) value.dispose();
  }
  logQ.dispose();
  optimizer.dispose();

  const gruValidation = best?.validation ?? { "hr@20": 0, "mrr@20": 0, testPoints: 0 };
  const untuned = { ...NEIGHBOUR_DEFAULTS, weight: UNTUNED_BLEND_WEIGHT };
  const blend =
    validationSequences.length > 0
      ? tuneBlend(
          model,
          validationSequences,
          new SessionNeighbours(untuned, SessionNeighbours.encodeSessions(train, vocabulary), vocabulary),
        )
      : { weight: UNTUNED_BLEND_WEIGHT, gru: gruValidation, hybrid: gruValidation };
  // The served neighbours include the validation sessions: often the most recent ones, and recency
  // is most of what session-kNN gets right.
  const neighbours = new SessionNeighbours(
    { ...untuned, weight: blend.weight },
    SessionNeighbours.encodeSessions([...train, ...validation], vocabulary),
    vocabulary,
  );
  return {
    model,
    vocabulary,
    neighbours,
    blend,
    epochs,
    bestEpoch: best?.epoch ?? epochs.length,
    stoppedEarly,
    validation: blend.hybrid,
    trainingSeconds,
    samples,
    parameters: parameterCount(config),
  };
}
