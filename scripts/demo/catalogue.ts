import * as fs from 'node:fs';
import * as path from 'node:path';
import { SHARED_DATASETS_DIR } from '../../producers/datasets';
import { readEdxCourses } from '../../producers/datasets/edx';
import type { ResourceInput } from '../../schemas';

const LEVEL_DIFFICULTY: Record<string, number> = { Introductory: 0.25, Intermediate: 0.55, Advanced: 0.85 };

/** Used when the shared datasets are absent: a small catalogue written for the demo, enough to see lists move. */
const BUILT_IN: [string, string, string][] = [
  ['Python for beginners', 'Variables, loops and functions in Python, with exercises in the browser.', 'Computer Science'],
  ['Data structures in Python', 'Lists, dictionaries, trees and graphs; complexity of common operations.', 'Computer Science'],
  ['Algorithms: sorting and searching', 'Merge sort, quicksort, binary search and their running times.', 'Computer Science'],
  ['Introduction to statistics', 'Descriptive statistics, probability, sampling and confidence intervals.', 'Data Analysis & Statistics'],
  ['Linear regression in practice', 'Fitting, diagnosing and interpreting linear models on real data.', 'Data Analysis & Statistics'],
  [
    'Machine learning fundamentals',
    'Supervised learning, overfitting, cross-validation and model selection.',
    'Data Analysis & Statistics',
  ],
  ['Calculus I', 'Limits, derivatives and their applications.', 'Math'],
  ['Linear algebra', 'Vectors, matrices, eigenvalues and linear maps.', 'Math'],
  ['Probability theory', 'Random variables, distributions, expectation and limit theorems.', 'Math'],
  ['Academic writing', 'Structure an argument, cite sources and revise your drafts.', 'Humanities'],
  ['World history since 1900', 'Wars, empires and globalisation in the twentieth century.', 'History'],
  ['Principles of economics', 'Supply, demand, markets and the role of government.', 'Economics & Finance'],
];

/** Demo catalogue: the first `limit` edX courses of the shared dataset when present, else the built-in list. */
export function demoCatalogue(limit: number): { resources: ResourceInput[]; source: string } {
  const file = path.join(SHARED_DATASETS_DIR, 'edx-courses-metadata', 'edx_courses.csv');
  const now = Date.now();
  if (fs.existsSync(file)) {
    const courses = readEdxCourses(file).slice(0, limit);
    return {
      source: `${courses.length} edX courses from ${file}`,
      resources: courses.map((c, i) => ({
        resourceId: `edx-${i + 1}`,
        title: c.title.slice(0, 512),
        description: (c.summary || c.description).slice(0, 4000),
        type: 'course',
        topics: [c.subject],
        skills: [c.subject],
        difficulty: LEVEL_DIFFICULTY[c.level] ?? null,
        language: 'en',
        active: true,
        publishedAt: now,
      })),
    };
  }
  return {
    source: `built-in demo catalogue (${BUILT_IN.length} resources; shared datasets not found at ${SHARED_DATASETS_DIR})`,
    resources: BUILT_IN.map(([title, description, subject], i) => ({
      resourceId: `demo-${i + 1}`,
      title,
      description,
      type: 'course',
      topics: [subject],
      skills: [subject],
      language: 'en',
      active: true,
      publishedAt: now,
    })),
  };
}
