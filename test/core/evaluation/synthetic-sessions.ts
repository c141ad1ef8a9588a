import { seededRandom } from "../../../core/evaluation/bootstrap.ts";

/**
 * Sessions over `items` SKUs where the next item is usually the successor of the current one:
 * a pattern co-occurrence and V-SkNN learn and popularity cannot, so the baselines order is known.
 */
export function markovSessions(count: number, options: { items?: number; seed?: number; startMs?: number } = {}) {
  const items = options.items ?? 50;
  const random = seededRandom(options.seed ?? 1);
  return Array.from({ length: count }, (_, index) => {
    const length = 2 + Math.floor(random() * 6);
    let current = Math.floor(random() * items);
    const sequence = [`i${current}`];
    for (let step = 1; step < length; step++) {
      current = random() < 0.8 ? (current + 1) % items : Math.floor(random() * items);
      sequence.push(`i${current}`);
    }
    return {
      session_id: `s${index}`,
      tenant: "t",
      session_start_ms: (options.startMs ?? 0) + index * 1000,
      session_date: "2014-04-01",
      items: sequence,
      length: sequence.length,
    };
  });
}
