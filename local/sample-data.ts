/**
 * The sample `npm run pipeline` and `pms data generate` write by default: big enough for the model
 * to beat popularity clearly, small enough that the whole run stays within a few minutes on two cores.
 */
export const SAMPLE_EVENTS = 120_000;
export const SAMPLE_DAYS = 14;
