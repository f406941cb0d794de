/**
 * The experiment report: per variant, CTR (clicks / impressions) and quiz success rate (correct / attempts of exposed
 * learners) with Wilson 95% intervals, and the impressions per variant still needed to tell each variant's CTR from
 * the control's (the first variant) with a two-sided two-proportion z-test at alpha 0.05 and power 0.8.
 */
import type { VariantTotals } from '../../models/experiments/tally';
import type { Experiment } from '../../models/experiments/types';
import { sampleSizePerArm, wilson, type Interval } from '../../models/experiments/stats';

export interface VariantReport {
  variant: string;
  learners: number;
  impressions: number;
  clicks: number;
  ctr: Interval;
  attempts: number;
  successes: number;
  successRate: Interval;
  /** Impressions per arm needed against the control at the effect below (Infinity = no difference to detect). */
  neededPerArm: number | null;
  /** Still to collect in this arm and the control: max(0, needed - the smaller arm's impressions). */
  stillNeeded: number | null;
  /** The CTR difference the sample size is for: observed, or the planned minimum (--mde) when nothing is observed. */
  effect: number | null;
  crossovers: number;
  unmatched: number;
}

export interface ExperimentReport {
  experiment: string;
  active: boolean;
  control: string;
  variants: VariantReport[];
}

/** `mde`: relative CTR lift planned as the smallest worth detecting, used while no difference is observed. Default 0.1. */
export function buildReport(experiment: Experiment, totals: readonly VariantTotals[], mde = 0.1): ExperimentReport {
  const of = (name: string) => totals.find((t) => t.experiment === experiment.id && t.variant === name);
  const control = experiment.variants[0].name;
  const c = of(control);
  const cCtr = c && c.impressions > 0 ? c.clicks / c.impressions : 0;
  const variants = experiment.variants.map((v): VariantReport => {
    const t = of(v.name);
    const impressions = t?.impressions ?? 0;
    const clicks = t?.clicks ?? 0;
    const attempts = t?.attempts ?? 0;
    const successes = t?.successes ?? 0;
    let neededPerArm: number | null = null;
    let stillNeeded: number | null = null;
    let effect: number | null = null;
    if (v.name !== control) {
      const ctr = impressions > 0 ? clicks / impressions : 0;
      const observed = ctr - cCtr;
      const planned = cCtr > 0 ? cCtr * mde : 0;
      effect = observed !== 0 ? observed : planned;
      if (effect !== 0) {
        const p2 = observed !== 0 ? ctr : Math.min(1, cCtr + planned);
        neededPerArm = sampleSizePerArm(cCtr, p2);
        stillNeeded = Math.max(0, neededPerArm - Math.min(impressions, c?.impressions ?? 0));
      }
    }
    return {
      variant: v.name,
      learners: t?.learners ?? 0,
      impressions,
      clicks,
      ctr: wilson(clicks, impressions),
      attempts,
      successes,
      successRate: wilson(successes, attempts),
      neededPerArm,
      stillNeeded,
      effect,
      crossovers: t?.crossovers ?? 0,
      unmatched: t?.unmatched ?? 0,
    };
  });
  return { experiment: experiment.id, active: experiment.active, control, variants };
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
const ci = (i: Interval) => `${pct(i.estimate)} [${pct(i.low)}, ${pct(i.high)}]`;

export function formatReport(r: ExperimentReport): string {
  const rows = [
    ['variant', 'learners', 'impressions', 'clicks', 'CTR [95% CI]', 'quiz', 'correct', 'success [95% CI]', 'still needed / arm'],
  ];
  for (const v of r.variants) {
    const need =
      v.variant === r.control
        ? '(control)'
        : v.stillNeeded === null
          ? 'n/a (no control CTR yet)'
          : `${v.stillNeeded} (of ${v.neededPerArm}, effect ${v.effect! >= 0 ? '+' : ''}${pct(v.effect!)})`;
    rows.push([
      v.variant,
      String(v.learners),
      String(v.impressions),
      String(v.clicks),
      ci(v.ctr),
      String(v.attempts),
      String(v.successes),
      ci(v.successRate),
      need,
    ]);
  }
  const widths = rows[0].map((_, j) => Math.max(...rows.map((row) => row[j].length)));
  const lines = rows.map((row) =>
    row
      .map((cell, j) => cell.padEnd(widths[j]))
      .join('  ')
      .trimEnd(),
  );
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  const odd = r.variants.reduce((s, v) => s + v.crossovers + v.unmatched, 0);
  const head = `experiment ${r.experiment}${r.active ? '' : ' (inactive)'}, control ${r.control}; sample size: two-sided z-test on CTR, alpha 0.05, power 0.8`;
  return [head, ...lines, ...(odd > 0 ? [`left out of the rates: ${odd} crossover impressions and unmatched clicks`] : [])].join('\n');
}
