/**
 * `recommId`: the id of one served list, which impression and click events quote back. It names the experiment and
 * variant the list was ranked under, so an impression or click is attributed to exactly that variant (even if the
 * configuration changed since), with no lookup: `<experimentId>.<variant>.<nonce>`; a list served outside any
 * experiment gets a bare `<nonce>`. The nonce is derived from the list (learner, generation time, model version): two
 * reads of the same stored list give the same recommId, a re-ranked list a new one.
 */
import { RECOMM_ID_PATTERN } from '../../schemas/recomm-id';
import { hash32 } from './assign';

export { RECOMM_ID_PATTERN };

export interface ListRef {
  experiment: string;
  variant: string;
}

export const NAME_PATTERN = /^[a-z0-9_-]{1,32}$/;

export function makeRecommId(userId: string, generatedAt: number | null, modelVersion: string | null, ref?: ListRef): string {
  const seed = `${userId}\u0000${generatedAt ?? 'fallback'}\u0000${modelVersion ?? ''}`;
  const nonce = hash32(seed).toString(36) + hash32(`${seed}\u0001`).toString(36);
  return ref ? `${ref.experiment}.${ref.variant}.${nonce}` : nonce;
}

/** The experiment and variant a recommId names, or null (outside any experiment, or not a recommId). */
export function parseRecommId(recommId: string | null | undefined): ListRef | null {
  if (!recommId || !RECOMM_ID_PATTERN.test(recommId)) return null;
  const parts = recommId.split('.');
  return parts.length === 3 ? { experiment: parts[0], variant: parts[1] } : null;
}
