/**
 * The tuning grid of the full model's transitions + popularity part (docs/evaluation.md, "Tuning"): one setting at a
 * time moved both ways from the chosen values, plus the MF weight around its chosen 0.005. Meant for the tuning prefix
 * only (`--limit 30000`), where the settings were chosen; `--methods tuning-grid` runs all of it.
 */
import type { HybridOptions } from '../../models/hybrid';

const DAY = 86400;

/** Variant name -> options of the HybridRecommender; the MF part is off (collabWeight 0) unless the name says `mf`. */
export const TUNING_GRID: Record<string, HybridOptions> = {
  'grid-window-8': { collabWeight: 0, transitions: { window: 8 } },
  'grid-window-32': { collabWeight: 0, transitions: { window: 32 } },
  'grid-position-decay-0.6': { collabWeight: 0, transitions: { positionDecay: 0.6 } },
  'grid-position-decay-0.9': { collabWeight: 0, transitions: { positionDecay: 0.9 } },
  'grid-reverse-0': { collabWeight: 0, transitions: { reverseWeight: 0 } },
  'grid-reverse-1': { collabWeight: 0, transitions: { reverseWeight: 1 } },
  'grid-transition-half-life-90d': { collabWeight: 0, transitions: { halfLifeSeconds: 90 * DAY } },
  'grid-transition-half-life-3650d': { collabWeight: 0, transitions: { halfLifeSeconds: 3650 * DAY } },
  'grid-row-norm-0': { collabWeight: 0, transitions: { rowNormPower: 0 } },
  'grid-row-norm-1': { collabWeight: 0, transitions: { rowNormPower: 1 } },
  'grid-popularity-0.05': { collabWeight: 0, popularityWeight: 0.05 },
  'grid-popularity-0.3': { collabWeight: 0, popularityWeight: 0.3 },
  'grid-popularity-half-life-7d': { collabWeight: 0, popularityHalfLifeSeconds: 7 * DAY },
  'grid-popularity-half-life-120d': { collabWeight: 0, popularityHalfLifeSeconds: 120 * DAY },
  'grid-mf-0.002': { collabWeight: 0.002 },
  'grid-mf-0.02': { collabWeight: 0.02 },
};

/** `--methods tuning-grid` expands to the chosen settings (with and without MF) followed by every grid variant. */
export const TUNING_GRID_ALIAS = 'tuning-grid';

export function expandMethods(names: readonly string[]): string[] {
  return names.flatMap((n) => (n === TUNING_GRID_ALIAS ? ['full-without-mf', 'full-model', ...Object.keys(TUNING_GRID)] : [n]));
}
