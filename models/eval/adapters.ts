import type { Interaction } from '../collab/options';
import type { OnlineCollab } from '../collab/model';
import type { StreamEvent, StreamRecommender } from './types';

/** StreamEvent (dense numbers, seconds) -> Interaction (string ids, ms), the shape the pipeline sees. */
export function toInteraction(ev: StreamEvent): Interaction {
  return {
    learnerId: String(ev.user),
    resourceId: String(ev.item),
    kind: ev.kind,
    timestamp: ev.t * 1000,
    value: Number.isNaN(ev.value) ? undefined : ev.value,
  };
}

/** Runs the string-keyed {@link OnlineCollab} under the numeric eval protocol. */
export class CollabRecommender implements StreamRecommender {
  readonly name: string;
  private buf = new Float64Array(1024);
  private map = new Int32Array(0); // eval item index -> model resource index (-1 unknown)

  constructor(
    readonly model: OnlineCollab,
    name = 'online-mf',
  ) {
    this.name = name;
  }

  score(user: number, out: Float64Array, nItems: number, t: number): void {
    const m = this.model;
    if (this.buf.length < m.resourceCount) this.buf = new Float64Array(m.resourceCount * 2);
    m.scoreAll(String(user), t * 1000, this.buf);
    if (this.map.length < nItems) {
      const next = new Int32Array(nItems * 2).fill(-1);
      next.set(this.map);
      this.map = next;
    }
    for (let i = 0; i < nItems; i++) {
      let r = this.map[i];
      if (r < 0) {
        r = m.resourceIndex(String(i)) ?? -1;
        this.map[i] = r;
      }
      out[i] = r < 0 ? -Infinity : this.buf[r];
    }
  }

  learn(ev: StreamEvent): void {
    this.model.observe(toInteraction(ev));
  }
}
