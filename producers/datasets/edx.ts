import * as fs from 'node:fs';
import { parseCsvObjects } from './csv';

/** One course of edx-courses-metadata (edx_courses.csv), reduced to the fields the content encoder uses. */
export interface EdxCourse {
  title: string;
  summary: string;
  subject: string;
  level: string;
  description: string;
}

export function readEdxCourses(file: string): EdxCourse[] {
  return (
    parseCsvObjects(fs.readFileSync(file, 'utf8'))
      // a few rows of the file have unquoted commas and spill text into later columns; a real subject is a short label
      .filter((r) => r.title && /^[A-Z][A-Za-z &]{1,40}$/.test(r.subject))
      .map((r) => ({
        title: r.title,
        summary: r.summary ?? '',
        subject: r.subject,
        level: r.Level ?? '',
        description: r.course_description ?? '',
      }))
  );
}
