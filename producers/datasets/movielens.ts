/**
 * MovieLens → events. Two layouts:
 *  - ml-latest-small (ratings.csv, movies.csv, tags.csv): CSV with a header, timestamps in seconds.
 *  - classic ml-100k (u.data tab-separated `user item rating ts`, u.item pipe-separated with 19 genre flags, u.genre).
 * A rating becomes a LearningInteraction of type `rate` with the rating as value (0.5..5); a movie becomes a Resource
 * of type `video` whose topics are its genres and whose description lists its most frequent user tags.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { KindedEvent, LearningInteraction, Resource } from '../../schemas';
import { PrerequisiteError } from '../../lib/errors';
import { parseCsv } from './csv';
import { bump, lines, timeOrdered, type Dataset, type ReadOptions } from './types';

/** A plain rating row, for evaluation code that does not want events. */
export interface Rating {
  userId: string;
  itemId: string;
  rating: number;
  /** Epoch milliseconds. */
  timestampMs: number;
}

export interface Movie {
  itemId: string;
  title: string;
  genres: string[];
  year: number | null;
  tags: string[];
}

function layout(dir: string): 'latest' | 'classic' {
  if (fs.existsSync(path.join(dir, 'ratings.csv'))) return 'latest';
  if (fs.existsSync(path.join(dir, 'u.data'))) return 'classic';
  throw new PrerequisiteError(`no MovieLens ratings in ${dir}`, 'expected ratings.csv (ml-latest*) or u.data (ml-100k)');
}

/** All ratings in file order (ml-latest-small: 100,836 rows in ~50 ms). */
export function readMovieLensRatings(dir: string): Rating[] {
  const classic = layout(dir) === 'classic';
  const text = fs.readFileSync(path.join(dir, classic ? 'u.data' : 'ratings.csv'), 'utf8');
  const rows = lines(text);
  const out: Rating[] = [];
  for (let i = classic ? 0 : 1; i < rows.length; i++) {
    const row = rows[i];
    if (!row) continue;
    const f = classic ? row.split('\t') : row.split(',');
    if (f.length < 4) continue;
    out.push({ userId: f[0], itemId: f[1], rating: Number(f[2]), timestampMs: Number(f[3]) * 1000 });
  }
  return out;
}

function yearOf(title: string): number | null {
  const m = /\((\d{4})\)\s*$/.exec(title.trim());
  return m ? Number(m[1]) : null;
}

/** Movies with genres and (latest layout) the distinct user tags, most frequent first. */
export function readMovieLensMovies(dir: string): Movie[] {
  if (layout(dir) === 'classic') {
    const genreFile = path.join(dir, 'u.genre');
    const genreNames = fs.existsSync(genreFile)
      ? lines(fs.readFileSync(genreFile, 'latin1'))
          .filter(Boolean)
          .map((l) => l.split('|')[0])
      : [];
    return lines(fs.readFileSync(path.join(dir, 'u.item'), 'latin1'))
      .filter(Boolean)
      .map((l) => {
        const f = l.split('|');
        const flags = f.slice(5);
        const genres = flags.map((x, i) => (x === '1' ? (genreNames[i] ?? `genre${i}`) : '')).filter((g) => g && g !== 'unknown');
        const dateYear = /(\d{4})$/.exec(f[2] ?? '');
        return { itemId: f[0], title: f[1], genres, year: dateYear ? Number(dateYear[1]) : yearOf(f[1]), tags: [] };
      });
  }
  const tagCounts = new Map<string, Map<string, number>>();
  const tagsFile = path.join(dir, 'tags.csv');
  if (fs.existsSync(tagsFile)) {
    for (const [, movieId, tag] of parseCsv(fs.readFileSync(tagsFile, 'utf8')).slice(1)) {
      if (!movieId || !tag) continue;
      const t = tag.trim().toLowerCase();
      const m = tagCounts.get(movieId) ?? new Map<string, number>();
      m.set(t, (m.get(t) ?? 0) + 1);
      tagCounts.set(movieId, m);
    }
  }
  return parseCsv(fs.readFileSync(path.join(dir, 'movies.csv'), 'utf8'))
    .slice(1)
    .filter((r) => r.length >= 3)
    .map(([itemId, title, genres]) => ({
      itemId,
      title,
      genres: genres === '(no genres listed)' ? [] : genres.split('|').filter(Boolean),
      year: yearOf(title),
      tags: [...(tagCounts.get(itemId) ?? new Map<string, number>()).entries()].sort((a, b) => b[1] - a[1]).map(([t]) => t),
    }));
}

export function movieToResource(m: Movie, idPrefix = ''): Resource {
  const tags = m.tags.slice(0, 20);
  const description = [m.genres.length ? `Genres: ${m.genres.join(', ')}.` : '', tags.length ? `Tags: ${tags.join(', ')}.` : '']
    .filter(Boolean)
    .join(' ');
  return {
    resourceId: `${idPrefix}${m.itemId}`,
    title: m.title.slice(0, 512) || `movie ${m.itemId}`,
    description,
    type: 'video',
    topics: m.genres.slice(0, 64).map((g) => g.slice(0, 128)),
    skills: [],
    difficulty: null,
    durationMin: null,
    language: null,
    prerequisites: [],
    instructor: null,
    publishedAt: m.year !== null ? Date.UTC(m.year, 0, 1) : null,
    active: true,
  };
}

export function ratingToInteraction(r: Rating, idPrefix = ''): LearningInteraction {
  return {
    // Deterministic, so replaying the same file twice produces the same ids (consumers de-duplicate on eventId).
    eventId: `ml-${r.userId}-${r.itemId}-${r.timestampMs}`,
    userId: `${idPrefix}${r.userId}`,
    resourceId: `${idPrefix}${r.itemId}`,
    type: 'rate',
    value: r.rating,
    dwellMs: 0,
    occurredAt: r.timestampMs,
    context: { platform: 'movielens', device: null, session: null },
    review: false,
    recommId: null,
  };
}

export function readMovieLens(dir: string, opts: ReadOptions = {}): Dataset {
  const prefix = opts.idPrefix ?? '';
  const skipped: Record<string, number> = {};
  const events: KindedEvent[] = [];
  for (const r of readMovieLensRatings(dir)) {
    if (!Number.isFinite(r.rating) || r.rating < 0 || r.rating > 5 || !Number.isFinite(r.timestampMs)) {
      bump(skipped, 'invalid-rating-row');
      continue;
    }
    events.push({ kind: 'interaction', event: ratingToInteraction(r, prefix) });
  }
  return {
    name: 'movielens',
    resources: readMovieLensMovies(dir).map((m) => movieToResource(m, prefix)),
    events: timeOrdered(events, opts.limit),
    skipped,
    notes: [
      'ratings -> interactions of type rate (value = stars 0.5..5); movies -> video resources (topics = genres, description = genres + top tags; publishedAt = Jan 1 of the title year)',
    ],
  };
}
