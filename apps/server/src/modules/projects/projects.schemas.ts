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

titled({ Project, ProjectPage });
