/**
 * Publishes a curriculum's resources as catalogue events with the typed Publisher: prerequisites first (a resource is
 * sent after every resource it names, where the graph allows), so a consumer reading catalog.resources in order never
 * sees an edge to a resource it has not seen yet. Curriculum-agnostic: any loader's ResourceInput[] goes through here.
 */
import type { Publisher } from '../publisher';
import type { ResourceInput } from '../../schemas';

/** Resources ordered prerequisites-first (depth-first post-order; a cycle's members keep their input order). */
export function prerequisitesFirst(resources: readonly ResourceInput[]): ResourceInput[] {
  const byId = new Map(resources.map((r) => [r.resourceId, r]));
  const placed = new Set<string>();
  const out: ResourceInput[] = [];
  const visiting = new Set<string>();
  const visit = (r: ResourceInput) => {
    if (placed.has(r.resourceId) || visiting.has(r.resourceId)) return;
    visiting.add(r.resourceId);
    for (const p of r.prerequisites ?? []) {
      const pr = byId.get(p);
      if (pr) visit(pr);
    }
    visiting.delete(r.resourceId);
    placed.add(r.resourceId);
    out.push(r);
  };
  for (const r of resources) visit(r);
  return out;
}

/** Every resource published and acknowledged; resolves with the count. Invalid resources reject (ValidationError). */
export async function publishCurriculum(
  publisher: Pick<Publisher, 'upsertResource'>,
  resources: readonly ResourceInput[],
): Promise<number> {
  const ordered = prerequisitesFirst(resources);
  await Promise.all(ordered.map((r) => publisher.upsertResource(r)));
  return ordered.length;
}
