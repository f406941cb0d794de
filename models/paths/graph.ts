/** Preparing a catalogue's prerequisite graph for planning. Pure. */
import type { PathNode } from './planner';

export interface CatalogueNode extends PathNode {
  /** False = hidden from learners (retired); default true. */
  active?: boolean;
}

/**
 * The graph as the planner needs it. Inactive resources cannot be steps: an edge to an inactive resource is replaced
 * by edges to its own prerequisites (transitively), so what the retired resource built on is still required. A
 * resource listed as its own prerequisite (a data error real curricula have: Junyi 2015 has two) carries no order and
 * is dropped; longer cycles are kept, for the planner to report. Unknown ids are
 * kept (the planner reports them as missing). `nodes` may be a partial graph (an ancestor closure): it is then the
 * caller's job that it holds every inactive node's prerequisites too.
 */
export function plannableGraph(nodes: ReadonlyMap<string, CatalogueNode>): Map<string, PathNode> {
  const expanded = new Map<string, string[]>();
  const expand = (id: string, seen: Set<string>): string[] => {
    const n = nodes.get(id);
    if (!n || n.active !== false) return [id];
    const done = expanded.get(id);
    if (done) return done;
    if (seen.has(id)) return []; // a cycle through retired resources only: nothing offerable on it
    seen.add(id);
    const out = [...new Set(n.prerequisites.flatMap((p) => expand(p, seen)))];
    seen.delete(id);
    expanded.set(id, out);
    return out;
  };
  const out = new Map<string, PathNode>();
  for (const [id, n] of nodes) {
    if (n.active === false) continue;
    let pre = n.prerequisites.some((p) => nodes.get(p)?.active === false)
      ? [...new Set(n.prerequisites.flatMap((p) => expand(p, new Set())))]
      : n.prerequisites;
    if (pre.includes(id)) pre = pre.filter((p) => p !== id);
    out.set(id, { id, ...(n.title !== undefined ? { title: n.title } : {}), prerequisites: pre });
  }
  return out;
}
