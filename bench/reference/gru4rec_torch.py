#!/usr/bin/python3
"""The same session model and training scheme as core/model (TF.js), in PyTorch, for timing.

Embedding (tied with the output) -> GRU -> projection, plus a learned score per recency for items
already in the session; length-bucketed mini-batches of whole sessions scored at every position
(windows of max_length with half-window burn-in); softmax cross-entropy over the whole catalogue
(or the batch's targets plus shared negatives drawn by count^0.75 with log-q correction, without
the repeat scores); Adam. Same data, split and hyper-parameters as bench/model.ts. The session-kNN
half of the hybrid is not here: it is built, not trained (a fraction of a second in bench/model.ts).

Run only under /usr/bin/python3 with Debian's python3-torch, one thread:
  OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/reference/gru4rec_torch.py <clicks.tsv> <test-day> '<json>'
Prints one JSON line: samples/s, training seconds (wall and CPU), HR@20 / MRR@20 on the test day.
"""
import json
import os
import math
import random
import resource
import sys
import time
from collections import Counter, defaultdict
from datetime import datetime, timezone

import torch

torch.set_num_threads(1)


def read_sessions(path):
    events = defaultdict(list)
    with open(path) as handle:
        next(handle)
        for line in handle:
            session, item, stamp = line.rstrip("\n").split("\t")
            events[session].append((float(stamp), item))
    sessions = []
    for clicks in events.values():
        clicks.sort()
        day = datetime.fromtimestamp(clicks[0][0], timezone.utc).strftime("%Y-%m-%d")
        sessions.append((clicks[0][0], day, [item for _, item in clicks]))
    return sessions


def windows(encoded, max_length):
    burn_in = max_length // 2
    out = []
    for session in encoded:
        targets = len(session) - 1
        if targets < 1:
            continue
        scored_up_to, start = 0, 0
        while scored_up_to < targets:
            width = min(max_length, targets - start)
            out.append((session[start:start + width], session[start + 1:start + width + 1], max(0, scored_up_to - start)))
            scored_up_to = start + width
            start = scored_up_to - burn_in
    return out


def to_batch(sequences):
    """Padded inputs, scored positions, targets, and the (scored row, item - 1, recency) of every
    distinct item read up to each scored position (core/model/session-items.ts)."""
    length = max(len(s[0]) for s in sequences)
    inputs = torch.zeros((len(sequences), length), dtype=torch.long)
    positions, targets, pair_rows, pair_columns, pair_recency = [], [], [], [], []
    for row, (x, y, scored_from) in enumerate(sequences):
        inputs[row, :len(x)] = torch.tensor(x)
        for column in range(scored_from, len(x)):
            scored = len(positions)
            positions.append(row * length + column)
            targets.append(y[column])
            seen = set()
            for at in range(column, -1, -1):
                if x[at] not in seen:
                    seen.add(x[at])
                    pair_rows.append(scored)
                    pair_columns.append(x[at] - 1)
                    pair_recency.append(column - at)
    pairs = (torch.tensor(pair_rows), torch.tensor(pair_columns), torch.tensor(pair_recency))
    return inputs, torch.tensor(positions), torch.tensor(targets), pairs


class SessionGRU(torch.nn.Module):
    def __init__(self, items, embedding_dim, hidden_dim, dropout, max_length):
        super().__init__()
        self.repeat_bonus = torch.nn.Parameter(torch.zeros(max_length))
        self.embedding = torch.nn.Embedding(items + 1, embedding_dim, padding_idx=0)
        self.bias = torch.nn.Parameter(torch.zeros(items + 1))
        self.gru = torch.nn.GRU(embedding_dim, hidden_dim, batch_first=True)
        self.projection = torch.nn.Linear(hidden_dim, embedding_dim, bias=False)
        self.dropout = torch.nn.Dropout(dropout)

    def encode(self, inputs):
        hidden, _ = self.gru(self.dropout(self.embedding(inputs)))
        return self.projection(self.dropout(hidden)).reshape(-1, self.embedding.embedding_dim)

    def scores(self, scored, pairs):
        logits = scored @ self.embedding.weight[1:].T + self.bias[1:]
        rows, columns, recency = pairs
        return logits.index_put((rows, columns), self.repeat_bonus[recency], accumulate=True)


def evaluate(model, test_sequences):
    model.eval()
    ranks = []
    with torch.no_grad():
        ordered = sorted(test_sequences, key=lambda sequence: len(sequence[0]))
        for start in range(0, len(ordered), 256):
            inputs, positions, targets, pairs = to_batch(ordered[start:start + 256])
            scored = model.encode(inputs)[positions]
            scores = model.scores(scored, pairs)
            target_scores = scores.gather(1, (targets - 1).unsqueeze(1))
            ranks.extend((scores > target_scores).sum(1).tolist())
    model.train()
    hr = sum(1 for rank in ranks if rank < 20) / max(1, len(ranks))
    mrr = sum(1 / (rank + 1) for rank in ranks if rank < 20) / max(1, len(ranks))
    return hr, mrr


def main():
    path, test_day, parameters = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    validation_share = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
    random.seed(parameters["seed"])
    torch.manual_seed(parameters["seed"])
    sessions = sorted(read_sessions(path))
    train = [items for _, day, items in sessions if day < test_day]
    # A seeded random share held out, as bench/model.ts and the pipeline's extract do.
    sampler = random.Random(parameters["seed"])
    held = [sampler.random() < validation_share for _ in train]
    held_out = [session for session, is_held in zip(train, held) if is_held]
    train = [session for session, is_held in zip(train, held) if not is_held]
    counts = Counter(item for session in train for item in session)
    vocabulary = [item for item, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if count >= parameters["minItemCount"]]
    index = {item: position + 1 for position, item in enumerate(vocabulary)}
    encode = lambda session: [index[item] for item in session if item in index]
    sequences = windows([encode(s) for s in train], parameters["maxLength"])
    test = [encode(items) for _, day, items in sessions if day == test_day]
    test_sequences = windows([s for s in test if len(s) >= 2], parameters["maxLength"])
    validation_sequences = windows([encode(s) for s in held_out], parameters["maxLength"])

    items = len(vocabulary)
    weights = torch.tensor([counts[item] ** 0.75 for item in vocabulary], dtype=torch.float)
    probabilities = weights / weights.sum()
    log_q = torch.cat([torch.zeros(1), probabilities.log()])
    model = SessionGRU(items, parameters["embeddingDim"], parameters["hiddenDim"], parameters["dropout"], parameters["maxLength"])
    optimizer = torch.optim.Adam(model.parameters(), lr=parameters["learningRate"])
    full_softmax = parameters["negativeSamples"] >= items

    samples, train_wall, train_cpu = 0, 0.0, 0.0
    for _ in range(parameters["epochs"]):
        model.train()
        order = list(range(len(sequences)))
        random.shuffle(order)
        order.sort(key=lambda position: len(sequences[position][0]))
        batches = [order[start:start + parameters["batchSize"]] for start in range(0, len(order), parameters["batchSize"])]
        random.shuffle(batches)
        wall, cpu = time.perf_counter(), time.process_time()
        for batch in batches:
            inputs, positions, targets, pairs = to_batch([sequences[position] for position in batch])
            scored = model.encode(inputs)[positions]
            if full_softmax:
                logits = model.scores(scored, pairs)
                labels = targets - 1
            else:
                negatives = torch.multinomial(probabilities, parameters["negativeSamples"], replacement=True) + 1
                candidates, inverse = torch.unique(torch.cat([targets, negatives]), return_inverse=True)
                logits = scored @ model.embedding.weight[candidates].T + model.bias[candidates] - log_q[candidates]
                labels = inverse[: len(targets)]
            loss = torch.nn.functional.cross_entropy(logits, labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            samples += len(targets)
        train_wall += time.perf_counter() - wall
        train_cpu += time.process_time() - cpu

        if os.environ.get("PMS_EPOCH_EVAL") == "1":
            print(json.dumps({"epoch": _ + 1, **dict(zip(("validation hr@20", "mrr@20"), evaluate(model, validation_sequences)))}), file=sys.stderr, flush=True)

    hr, mrr = evaluate(model, test_sequences)
    print(json.dumps({
        "backend": f"pytorch {torch.__version__} cpu, 1 thread",
        "samples": samples,
        "trainingSeconds": round(train_wall, 2),
        "trainingCpuSeconds": round(train_cpu, 2),
        "samplesPerSecond": round(samples / train_wall, 1),
        "samplesPerCpuSecond": round(samples / train_cpu, 1),
        "hr@20": round(hr, 4),
        "mrr@20": round(mrr, 4),
        "testPoints": sum(len(x) - scored_from for x, _, scored_from in test_sequences),
        "peakRssMiB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }))


if __name__ == "__main__":
    main()
