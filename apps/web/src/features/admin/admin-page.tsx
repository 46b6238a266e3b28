import { useState } from 'react';
import { useSession } from '../../app/session';
import { PageHeader, usePageTitle } from '../../components/ui/page';
import { EmptyState } from '../../components/ui/state-views';
import { UsersPanel } from './users-panel';
import { InvitationsPanel } from '../teams/invitations-panel';
import { ApiKeysPanel } from './api-keys-panel';
import { ConfigEditor } from '../config/config-editor';
import { NotificationTargetsPanel } from './notification-targets-panel';
import { DeliveryLog } from './delivery-log';
import { AuditLog } from './audit-log';

export function AdminPage() {
  usePageTitle('Admin');
  const { can, org, role } = useSession();
  // Bumped when a test or replay is queued, so the delivery log reads again.
  const [queued, setQueued] = useState(0);
  if (!can.manageUsers) {
    return (
      <>
        <PageHeader title="Admin" />
        <EmptyState title="Admins only">
          <p>You have the {role} role. An owner or admin of this org manages users and API keys.</p>
        </EmptyState>
      </>
    );
  }
  return (
    <>
      <PageHeader title="Admin" subtitle={`Members, API keys, notification targets, configuration and audit log of ${org.name}`} />
      <UsersPanel />
      <InvitationsPanel />
      <ApiKeysPanel />
      <NotificationTargetsPanel onDeliveryQueued={() => setQueued((n) => n + 1)} />
      <DeliveryLog version={queued} onQueued={() => setQueued((n) => n + 1)} />
      <ConfigEditor
        target={{ scope: 'org' }}
        title="Org configuration"
        intro="Defaults for every device in the org, sent to each on devices/{id}/config. A project's or a device's own value overrides them."
      />
      <AuditLog />
    </>
  );
}
