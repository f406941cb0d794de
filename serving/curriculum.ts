/**
 * The curriculum the read API plans learning paths over: each catalogued resource's prerequisite edges and skills,
 * an index from skill to the resources that train it, and the resources' content vectors (for free-text goals).
 * Derived data the catalogue stage writes from catalog.resources, like the rest of the serving store; an optional
 * capability of a ServingStore (RedisServingStore and MemoryServingStore have it), so no wiring changes.
 */
import type { ServingStore } from './types';

export interface CurriculumNode {
  resourceId: string;
  title: string;
  /** Resource ids to master first, as the catalogue lists them. */
  prerequisites: string[];
  skills: string[];
  /** Inactive resources stay in the graph: what they build on is still required of what needs them. */
  active: boolean;
}

/** All stored content vectors at one version. */
export interface ContentVectors {
  version: number;
  vectors: Map<string, Float32Array>;
}

export interface CurriculumStore {
  /** Upsert of a resource's graph facts; the skill index follows (skills it no longer trains forget it). */
  putCurriculumNode(node: CurriculumNode): Promise<void>;
  /** The resource left the catalogue: its node, skill memberships and content vector go. */
  deleteCurriculumNode(resourceId: string): Promise<void>;
  /** One round trip for many nodes; null = not in the catalogue. */
  getCurriculumNodes(ids: readonly string[]): Promise<(CurriculumNode | null)[]>;
  /** Every node (inactive ones included), in no particular order: for title matching of free-text goals. */
  listCurriculumNodes(): Promise<CurriculumNode[]>;
  /** Resources training `skill`, sorted by id (inactive ones included). */
  getSkillResources(skill: string): Promise<string[]>;
  /** The resource's content vector (null = remove); bumps the vectors' version. */
  putContentVector(resourceId: string, vector: Float32Array | null): Promise<void>;
  /** Every content vector, or null when the version is still `sinceVersion` (nothing to reload). */
  getContentVectors(sinceVersion?: number): Promise<ContentVectors | null>;
}

export function hasCurriculum(store: ServingStore): store is ServingStore & CurriculumStore {
  const s = store as Partial<CurriculumStore>;
  return typeof s.getCurriculumNodes === 'function' && typeof s.putCurriculumNode === 'function';
}

/** Content vectors as stored: float32 little-endian, 4 bytes per dimension. */
export function encodeVector(v: Float32Array): Buffer {
  const b = Buffer.allocUnsafe(v.length * 4);
  for (let i = 0; i < v.length; i++) b.writeFloatLE(v[i], i * 4);
  return b;
}

export function decodeVector(b: Buffer): Float32Array {
  const v = new Float32Array(b.length >>> 2);
  for (let i = 0; i < v.length; i++) v[i] = b.readFloatLE(i * 4);
  return v;
}
