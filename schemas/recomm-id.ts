/**
 * The shape of a `recommId` (the id of one served list that impression and click events quote back; made and parsed
 * in models/experiments/recomm-id.ts): `<experimentId>.<variant>.<nonce>`, or a bare `<nonce>` outside any experiment.
 * Here, below the models, because the event validation checks it.
 */
export const RECOMM_ID_PATTERN = /^(?:[a-z0-9_-]{1,32}\.[a-z0-9_-]{1,32}\.)?[a-z0-9]{1,24}$/;
