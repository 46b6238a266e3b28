import { Type, type Static } from 'typebox';
import { Page, Timestamp, Uuid, titled } from '../../platform/http/schemas.js';

export const Project = Type.Object(
  {
    id: Uuid,
    name: Type.String(),
    description: Type.String(),
    inactivityTimeoutS: Type.Union([Type.Integer(), Type.Null()], {
      description: 'Seconds without a message before its devices count as inactive; null: the org default',
    }),
    deviceCount: Type.Integer(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { title: 'Project' },
);
export type Project = Static<typeof Project>;

export const ProjectPage = Page(Project, 'ProjectPage');

/** A project found by a search text (GET /search): whether its name or its description contains the text. */
export const ProjectMatch = Type.Object({
  id: Uuid,
  name: Type.String(),
  matched: Type.Object({ field: Type.Union([Type.Literal('name'), Type.Literal('description')]), text: Type.String() }),
});
export type ProjectMatch = Static<typeof ProjectMatch>;

titled({ Project, ProjectPage, ProjectMatch });
