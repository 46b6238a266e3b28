/**
 * Composition root: config → adapters → services → transports; and shutdown.
 * `createTether` builds everything without listening; `start` opens the ports.
 */
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createWebSocketStream } from 'ws';
import { LISTEN_BACKLOG, MQTT_PACKET_OVERHEAD_BYTES, type TetherConfig } from './config/config.js';
import { openBus } from './platform/bus/open-bus.js';
import { openDatabase, type Database } from './platform/db/database.js';
import { ensurePartitions, migrate } from './platform/db/migrate.js';
import { createHttpServer, type App } from './platform/http/server.js';
import { requireActor } from './modules/accounts/request-actor.js';
import { registerWebApp } from './platform/http/web-app.js';
import { startMaintenance } from './platform/jobs/maintenance.js';
import { LiveHub } from './modules/live/live-hub.js';
import { liveRoutes } from './modules/live/live.routes.js';
import { createLogger, type Logger } from './platform/observability/logger.js';
import { createMetrics, type Metrics } from './platform/observability/metrics.js';
import { JwtSigner } from './platform/security/jwt.js';
import { loadMasterKey } from './platform/security/key-encryption.js';
import { AccountsService } from './modules/accounts/accounts.service.js';
import { accountsRoutes } from './modules/accounts/accounts.routes.js';
import { TeamsService } from './modules/teams/teams.service.js';
import { invitationRoutes, invitationTokenRoutes } from './modules/teams/teams.routes.js';
import { Mailer } from './platform/notify/mailer.js';
import { auditRoutes } from './modules/audit/audit.routes.js';
import { AuditService } from './modules/audit/audit.service.js';
import { SigningKeys } from './modules/accounts/signing-keys.js';
import { AlertsService } from './modules/alerts/alerts.service.js';
import { alertsRoutes } from './modules/alerts/alerts.routes.js';
import { PresenceService } from './modules/devices/presence.service.js';
import { DevicesService } from './modules/devices/devices.service.js';
import { brokerAuthRoutes } from './modules/gateway/broker-auth.routes.js';
import { DeviceGateway } from './modules/gateway/device-gateway.js';
import { ExternalGateway, defaultIngestClientId } from './modules/gateway/external-gateway.js';
import { BROKER_CREDENTIALS_RECONCILE_MS, startMosquittoCredentials } from './modules/gateway/broker-credentials.js';
import { AlarmEvaluator } from './modules/alarms/evaluator.js';
import { AlarmsService } from './modules/alarms/alarms.service.js';
import { alarmsRoutes } from './modules/alarms/alarms.routes.js';
import { RulesService } from './modules/alarms/rules.service.js';
import { AlarmOutbox } from './modules/alarms/outbox.js';
import { DELIVER_QUEUE, NotificationsService, SUMMARY_QUEUE } from './modules/notifications/notifications.service.js';
import { notificationsRoutes } from './modules/notifications/notifications.routes.js';
import { firmwareDownloadRoutes, firmwareRoutes } from './modules/ota/firmware.routes.js';
import { FirmwareService } from './modules/ota/firmware.service.js';
import { fileLinkRoutes, filesRoutes } from './modules/files/files.routes.js';
import { FilesService } from './modules/files/files.service.js';
import { fileUploadRoutes } from './modules/files/files.uploads.js';
import { fleetsRoutes } from './modules/ota/fleets.routes.js';
import { AliasesService } from './modules/aliases/aliases.service.js';
import { aliasesRoutes } from './modules/aliases/aliases.routes.js';
import { deploymentsRoutes, deviceOtaRoutes } from './modules/ota/deployments.routes.js';
import { DeploymentsService } from './modules/ota/deployments.service.js';
import { OtaJobsService } from './modules/ota/ota-jobs.service.js';
import { FleetsService } from './modules/ota/fleets.service.js';
import { DeviceDirectory } from './modules/devices/device-directory.js';
import { devicesRoutes } from './modules/devices/devices.routes.js';
import { deviceJwtRoutes } from './modules/devices/device-jwt.routes.js';
import { ProvisioningService } from './modules/provisioning/provisioning.service.js';
import { provisioningDeviceRoutes, provisioningKeyRoutes } from './modules/provisioning/provisioning.routes.js';
import { deviceApiRoutes } from './modules/ingest/device-api.routes.js';
import { IngestService } from './modules/ingest/ingest.service.js';
import { startHourRollups } from './modules/ingest/hour-rollups.task.js';
import { ProjectsService } from './modules/projects/projects.service.js';
import { REPORT_PARSE_QUEUE, ReportsService } from './modules/reports/reports.service.js';
import { deviceReportRoutes, reportsRoutes } from './modules/reports/reports.routes.js';
import { projectsRoutes } from './modules/projects/projects.routes.js';
import { COMMAND_EXPIRE_QUEUE, COMMAND_RETRY_QUEUE, CommandsService } from './modules/commands/commands.service.js';
import { commandsRoutes, deviceCommandsRoutes } from './modules/commands/commands.routes.js';
import { ConfigService } from './modules/config/config.service.js';
import { configRoutes, deviceConfigRoutes } from './modules/config/config.routes.js';
import { devicePhotoRoutes } from './modules/devices/device-photo.routes.js';
import { MetadataService } from './modules/metadata/metadata.service.js';
import { metadataRoutes } from './modules/metadata/metadata.routes.js';
import { SearchService } from './modules/search/search.service.js';
import { searchRoutes } from './modules/search/search.routes.js';
import { TemplatesService } from './modules/templates/templates.service.js';
import { templatesRoutes } from './modules/templates/templates.routes.js';
import { startJobs, type Jobs } from './platform/jobs/jobs.js';
import { LocalFileStorage, type FileStorage } from './platform/storage/file-storage.js';
import { S3FileStorage } from './platform/storage/s3-storage.js';
import { deviceTopic } from '@tether/contracts';
import { FleetService } from './modules/fleet/fleet.service.js';
import { fleetRoutes } from './modules/fleet/fleet.routes.js';
import { HealthService } from './modules/health/health.service.js';
import { healthRoutes } from './modules/health/health.routes.js';
import { startHealthScan, startHeartbeatRollups } from './modules/health/health-rollups.task.js';
import { TelemetryService } from './modules/telemetry/telemetry.service.js';
import { telemetryRoutes } from './modules/telemetry/telemetry.routes.js';
import { serverRoutes } from './modules/server-info/server.routes.js';
import type { DomainBus, DomainEvents } from './modules/events/domain-events.js';

export class PortInUseError extends Error {
  constructor(
    readonly port: number,
    readonly what: string,
    readonly setting: string,
  ) {
    super(`Port ${port} (${what}) is already in use. Stop whatever holds it, or choose another port with ${setting}=<port>.`);
  }
}

export interface Tether {
  config: TetherConfig;
  db: Database;
  logger: Logger;
  metrics: Metrics;
  app: App | null;
  broker: DeviceGateway | null;
  ingest: IngestService;
  accounts: AccountsService;
  devices: DevicesService;
  bus: DomainBus;
  /** Alarm evaluation on this node (its sweep is run by worker nodes). */
  alarms: AlarmEvaluator | null;
  /** The alarm notification outbox (worker nodes). */
  alarmOutbox: AlarmOutbox | null;
  notifications: NotificationsService;
  firmware: FirmwareService;
  files: FilesService;
  deployments: DeploymentsService;
  reports: ReportsService;
  /**
   * The admin created on the first start, with the generated password if one
   * was generated: set by start(), once every port is listening, so a start
   * that fails creates nobody and the next one prints the login.
   */
  readonly bootstrap: { email: string; password: string | null } | null;
  start(): Promise<{ httpUrl: string | null; mqttUrl: string | null; wsMqttUrl: string | null; mqttsUrl: string | null }>;
  stop(): Promise<void>;
}

/** Largest firmware artifact accepted (streamed to the storage, never held in memory). */
const FIRMWARE_MAX_BYTES = 2 * 1024 ** 3;

export async function createTether(config: TetherConfig, opts: { logger?: Logger; checkResponses?: boolean } = {}): Promise<Tether> {
  const logger = opts.logger ?? createLogger(config.logLevel);
  const metrics = createMetrics();
  const roles = new Set(config.roles);

  // Adapters
  fs.mkdirSync(config.dataDir, { recursive: true });
  const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  await migrate(db);
  await ensurePartitions(db);
  const signingKeys = await SigningKeys.open({
    db,
    masterKey: loadMasterKey({ secret: config.jwtSecret, dataDir: config.dataDir }),
    longestTokenTtlS: Math.max(config.accessTokenTtlS, config.deviceJwtTtlS),
    configuredSecret: config.jwtSecret,
    logger,
  }).catch(async (err: unknown) => {
    // A key that does not fit stops the start; the embedded database's files are released for the next try.
    await db.close();
    throw err;
  });
  const signer = new JwtSigner(signingKeys);
  // The cluster's event bus: other nodes' events arrive once it has started, before any port listens.
  const bus = openBus<DomainEvents>({
    busUrl: config.busUrl,
    databaseUrl: config.databaseUrl,
    channel: config.busChannel,
    logger,
    count: (direction, n) => metrics.busEvents.inc({ direction }, n),
  });
  await bus.start().catch(async (err: unknown) => {
    await db.close();
    throw new Error(`could not connect to the event bus (${bus.kind}${config.busUrl ? ` at TETHER_BUS_URL` : ''}): ${(err as Error).message}`);
  });
  bus.on('signing_keys.changed', () => signingKeys.reload());
  const hub = new LiveHub(bus);
  hub.start();
  let broker: DeviceGateway | null = null;
  let external: ExternalGateway | null = null;
  let brokerCredentials: Awaited<ReturnType<typeof startMosquittoCredentials>> | null = null;

  // Services
  let listeningHttpPort: number | null = null;
  /** The public address (TETHER_PUBLIC_URL), else this node's own HTTP port: what e-mailed links and OTA downloads point to. */
  const selfUrl = () =>
    config.publicUrl ??
    (listeningHttpPort !== null
      ? `${config.tls ? 'https' : 'http'}://${config.httpHost === '0.0.0.0' || config.httpHost === '::' ? 'localhost' : config.httpHost}:${listeningHttpPort}`
      : null);
  // E-mail (invitations, password resets); alarm notifications keep their own transport.
  const mailer = config.smtp ? new Mailer(config.smtp.url, config.smtp.from) : null;
  const accounts = new AccountsService({
    db,
    signer,
    accessTtlS: config.accessTokenTtlS,
    refreshTtlS: config.refreshTokenTtlS,
    signInFailed: (account) => metrics.signInsFailed.inc({ account }),
    mailer,
    linkBase: () => selfUrl() ?? `http://localhost:${config.httpPort}`,
  });
  const teams = new TeamsService({ db, accounts, mailer, publicUrl: config.publicUrl });
  const projects = new ProjectsService(db);
  const templates = new TemplatesService(db);
  // Files (firmware, photos): an S3-compatible bucket every node reads, or this node's disk.
  const s3 = config.s3 ? new S3FileStorage(config.s3) : null;
  const storage: FileStorage = s3 ?? new LocalFileStorage(`${config.dataDir}/files`);
  const firmware = new FirmwareService({ db, storage, signer, templates, maxBytes: FIRMWARE_MAX_BYTES });
  const jobs: Jobs | null =
    roles.has('api') || roles.has('worker') || roles.has('mqtt') || roles.has('ingest')
      ? await startJobs(db, logger, [COMMAND_EXPIRE_QUEUE, COMMAND_RETRY_QUEUE, DELIVER_QUEUE, SUMMARY_QUEUE, REPORT_PARSE_QUEUE])
      : null;
  const devices = new DevicesService({
    db,
    projects,
    templates,
    signer,
    defaultTimeoutS: config.inactivityTimeoutS,
    deviceJwtTtlS: config.deviceJwtTtlS,
    bus,
  });
  const provisioning = new ProvisioningService({ db, projects, devices });
  const fleets = new FleetsService({ db, devices, projects, templates });
  const otaJobs = new OtaJobsService({
    db,
    firmware,
    devices,
    bus,
    publish: (orgId, e) => hub.publish(orgId, e),
    // Devices download from the public address; without one, from this node's own HTTP port.
    baseUrl: selfUrl,
    logger,
  });
  const deployments = new DeploymentsService({ db, fleets, firmware, devices, jobs: otaJobs, bus, logger });
  otaJobs.onJobEnded = (id) => deployments.poke(id);
  // On every node: the device's sessions here end; a deleted device's retained messages go.
  bus.on('device.credentials_revoked', ({ deviceId }) => broker?.disconnectDevice(deviceId));
  bus.on('device.deleted', async ({ deviceId }) => {
    broker?.disconnectDevice(deviceId);
    await broker?.clearRetained(deviceTopic.config(deviceId));
    await external?.deviceDeleted(deviceId);
  });
  const presence = roles.has('mqtt')
    ? new PresenceService({
        db,
        logger,
        leaseS: config.presenceLeaseS,
        statusChanged: (device, online, lastSeenAt) => bus.emit('device.status', { device, online, lastSeenAt: lastSeenAt?.toISOString() ?? null }, 'local'),
        recovered: () => broker?.redeliverPending(),
      })
    : null;
  const ingest = new IngestService({
    db,
    metrics,
    logger,
    maxBatch: config.ingestBatchSize,
    flushMs: config.ingestFlushMs,
    maxPayloadBytes: config.maxPayloadBytes,
    budget: { maxMessages: config.ingestMaxPending, maxBytes: config.ingestMaxPendingBytes },
    quota: config.ingestQuota,
    verifyDeviceJwt: async (token) => (await devices.verifyJwt(token)).deviceId,
    // Off the PUBACK path: the bus calls its handlers (the live hub) after this batch's acknowledgements.
    listeners: [{ committed: (batch) => bus.emit('telemetry.stored', { batch }, 'local') }],
  });
  const telemetry = new TelemetryService(db, devices);
  const reports = new ReportsService({
    db,
    storage,
    jobs,
    ingest,
    devices,
    logger,
    maxBytes: config.reportMaxBytes,
    maxLineBytes: config.maxPayloadBytes,
  });
  const files = new FilesService({
    db,
    storage,
    stagingDir: `${config.dataDir}/uploads`,
    signer,
    logger,
    quotaBytes: config.files.quotaBytes,
    maxFileBytes: config.files.maxFileBytes,
    retentionDays: config.files.retentionDays,
  });
  const aliases = new AliasesService({ db, devices, projects, telemetry });
  const alerts = new AlertsService(db, files);
  const fleet = new FleetService(db, config.inactivityTimeoutS);
  const health = new HealthService({ db, projects, templates, devices });
  const commands = new CommandsService({
    db,
    devices,
    templates,
    jobs,
    logger,
    bus,
    publish: (orgId, e) => hub.publish(orgId, e),
    defaultExpiryMs: 24 * 3600_000,
  });
  const configs = new ConfigService({
    db,
    devices,
    projects,
    bus,
  });
  const metadata = new MetadataService(db, devices, projects);
  // A search text finds devices by their properties too, which the metadata module holds.
  devices.attachPropertyFinder(metadata);
  const search = new SearchService({ devices, projects, metadata });
  const notifications = new NotificationsService({
    db,
    jobs,
    logger,
    smtp: config.smtp,
    selfPort: () => listeningHttpPort ?? config.httpPort,
    members: accounts,
  });
  const alarmRules = new RulesService({ db, bus, projects, templates, devices, telemetry, targets: notifications });
  const alarms = new AlarmsService(db, bus, accounts);
  // Every node evaluates what its own ingest committed; worker nodes run the timed sweep.
  const alarmEvaluator =
    roles.has('mqtt') || roles.has('ingest') || roles.has('api') ? new AlarmEvaluator({ db, bus, rules: alarmRules, devices, health, logger, metrics }) : null;
  alarmEvaluator?.start();
  if (roles.has('worker')) alarmEvaluator?.startSweeper();
  // Every node hears of every alarm change: its own dashboards are told.
  bus.on('alarm.changed', (e) =>
    hub.deliverHere(e.orgId, { type: 'alarm', deviceId: e.deviceId, projectId: e.projectId, alarm: { id: e.alarmId, ruleId: e.ruleId, open: e.open } }),
  );
  // Worker nodes hand raises and clears to the notifier, and deliver.
  const alarmOutbox = roles.has('worker') && jobs ? new AlarmOutbox(db, bus, logger, notifications) : null;
  if (alarmOutbox) {
    alarmOutbox.start();
    await notifications.startWorker();
  }

  // Transports
  const tlsFiles = config.tls ? { cert: fs.readFileSync(config.tls.certFile), key: fs.readFileSync(config.tls.keyFile) } : null;
  if (roles.has('mqtt')) {
    broker = await DeviceGateway.create({
      devices,
      provisioner: provisioning,
      presence: presence!,
      ingest,
      logger,
      metrics,
      authFailuresPerMinute: config.mqttAuthFailuresPerMinute,
      connectsPerDevicePerMinute: config.mqttConnectsPerDevicePerMinute,
      receiveMaximum: config.mqttReceiveMaximum,
      maxPayloadBytes: config.maxPayloadBytes,
      // Room for the topic, properties and header around the largest payload; a payload a little over the limit gets a
      // payload refusal with a reason code, a packet past this is dropped unread.
      maximumPacketSize: config.maxPayloadBytes + MQTT_PACKET_OVERHEAD_BYTES,
      connectionCaps: config.mqttConnectionCaps,
      maxOutgoingBytes: config.mqttMaxOutgoingBytes,
      slowReaderTimeoutMs: config.mqttSlowReaderTimeoutS * 1000,
      connectHoldMs: config.mqttConnectHoldS * 1000,
    });
    const b = broker;
    configs.attachDownlink({
      holds: (deviceId) => b.holdsDevice(deviceId),
      publish: (deviceId, values) => b.publishConfig(deviceId, values),
      forget: async (deviceId) => {
        if (b.hasRetained(deviceTopic.config(deviceId))) await b.clearRetained(deviceTopic.config(deviceId));
      },
    });
    // Commands queued while this node was cut off from the others: send them now.
    bus.onReconnect(() => b.redeliverPending());
    otaJobs.attachChannel(broker);
    broker.attach({
      commands,
      ota: otaJobs,
      // The broker's retained copy reaches the device by itself; the first subscribe after a
      // restart finds none, and gets the configuration published now.
      onConfigSubscribe: (device) => {
        if (broker?.hasRetained(deviceTopic.config(device.deviceId))) return;
        void configs.publishTo(device).catch((err: unknown) => logger.warn({ err }, 'could not publish device config'));
      },
      thingsboard: {
        clientAttributes: (device) => telemetry.reportedValues(device),
        sharedAttributes: (device) => configs.deviceConfig(device),
        isGateway: (device) => devices.isGateway(device),
        gatewayChild: (gateway, name, type) => devices.gatewayChild(gateway, name, type),
      },
    });
  }
  if (roles.has('ingest') && config.mqttUrl) {
    // External broker mode (README, External MQTT broker): the broker holds the devices, this node consumes it.
    external = new ExternalGateway({
      ingest,
      directory: new DeviceDirectory(devices, bus),
      logger,
      url: config.mqttUrl,
      clientId: config.mqttClientId ?? defaultIngestClientId(config.dataDir),
      shareGroup: config.mqttShareGroup,
    });
    external.attach(commands, otaJobs);
    configs.attachDownlink(external.configDownlink());
  }
  if (jobs && roles.has('worker')) {
    await jobs.work<{ commandId: string }>(COMMAND_EXPIRE_QUEUE, (d) => commands.expire(d.commandId));
    await jobs.work<{ commandId: string }>(COMMAND_RETRY_QUEUE, (d) => commands.retry(d.commandId));
    // One report at a time per worker node: each writes in batches that hold the same hot rows as ingest.
    await jobs.work<{ reportId: string }>(REPORT_PARSE_QUEUE, (d) => reports.parse(d.reportId), { concurrency: 1 });
  }
  // Worker nodes move the running deployments on; any of them may, one at a time per deployment.
  if (roles.has('worker')) deployments.startEngine();
  let app: App | null = null;
  if (roles.has('api')) {
    app = await createHttpServer({
      logger,
      bodyLimit: config.maxPayloadBytes,
      https: tlsFiles,
      publicUrl: config.publicUrl,
      checkResponses: opts.checkResponses,
    });
    const http = app;
    await http.register(
      serverRoutes({
        readiness: {
          database: () => db.ping(),
          broker: () => (broker ? !broker.aedes.closed : external ? external.connected : null),
          brokerCredentials: () => (brokerCredentials ? brokerCredentials.dynsec.connected : null),
          bus: () => (bus.kind === 'local' ? null : bus.connected),
          storage: () => (s3 ? s3.ping() : null),
        },
        metrics: (checks) => {
          for (const [check, up] of Object.entries(checks)) if (up !== null) metrics.ready.set({ check }, up ? 1 : 0);
          metrics.pending.set(ingest.pending);
          metrics.budgetHeldBytes.set(ingest.budget.heldBytes);
          metrics.budgetWaiting.set(ingest.budget.waiting);
          return metrics.registry;
        },
        info: () => ({
          version: '0.1.0',
          publicUrl: config.publicUrl,
          mqtt: listening.mqttPort !== null ? { port: listening.mqttPort, tlsPort: listening.mqttsPort, wsPath: broker ? '/mqtt' : null } : null,
        }),
      }),
    );
    await registerWebApp(http);

    await http.register(accountsRoutes(accounts, { allowSignup: config.allowSignup, limits: config.loginLimits }));
    await http.register(invitationTokenRoutes(teams, config.loginLimits));
    await http.register(deviceJwtRoutes(devices, accounts));
    await http.register(provisioningDeviceRoutes(provisioning));
    await http.register(deviceApiRoutes({ ingest, devices }));
    await http.register(deviceCommandsRoutes(commands, devices));
    await http.register(deviceConfigRoutes(configs, devices));
    await http.register(brokerAuthRoutes(devices, config.brokerAuthToken));
    await http.register(firmwareDownloadRoutes(firmware));
    await http.register(deviceOtaRoutes(otaJobs, devices));
    await http.register(fileUploadRoutes(files, devices, logger));
    await http.register(fileLinkRoutes(files));
    await http.register(deviceReportRoutes(reports, devices));
    await http.register(
      liveRoutes({ hub, accounts, devices, projects, metrics, maxBufferedBytes: config.liveMaxBufferedBytes, pingIntervalMs: config.livePingIntervalMs }),
    );
    await http.register(async (scoped: App) => {
      scoped.addHook('onRequest', requireActor(accounts));
      await scoped.register(projectsRoutes(projects));
      await scoped.register(devicesRoutes(devices));
      await scoped.register(provisioningKeyRoutes(provisioning));
      await scoped.register(telemetryRoutes(telemetry));
      await scoped.register(aliasesRoutes(aliases));
      await scoped.register(alertsRoutes(alerts));
      await scoped.register(fleetRoutes(fleet, projects));
      await scoped.register(healthRoutes(health));
      await scoped.register(commandsRoutes(commands));
      await scoped.register(configRoutes(configs));
      await scoped.register(metadataRoutes(metadata));
      await scoped.register(searchRoutes(search));
      await scoped.register(templatesRoutes(templates));
      await scoped.register(alarmsRoutes(alarmRules, alarms));
      await scoped.register(notificationsRoutes(notifications));
      await scoped.register(devicePhotoRoutes(devices, storage, 5 * 1024 * 1024));
      await scoped.register(firmwareRoutes(firmware));
      await scoped.register(fleetsRoutes(fleets));
      await scoped.register(deploymentsRoutes(deployments));
      await scoped.register(filesRoutes(files));
      await scoped.register(reportsRoutes(reports));
      await scoped.register(auditRoutes(new AuditService(db)));
      await scoped.register(invitationRoutes(teams));
    });
    if (broker) {
      const b = broker;
      // MQTT over WebSocket on the HTTP port.
      http.get('/mqtt', { websocket: true, schema: { hide: true } }, (socket, req) => b.handle(createWebSocketStream(socket), req.ip));
    }
  }

  const listening: { mqttPort: number | null; mqttsPort: number | null } = { mqttPort: null, mqttsPort: null };
  const maintenance = roles.has('worker')
    ? startMaintenance(db, logger, {
        messageRetentionDays: config.messageRetentionDays,
        tasks: [{ name: 'device file retention', run: () => files.sweep() }],
      })
    : null;
  const hourRollups = roles.has('worker') ? startHourRollups(db, logger) : null;
  const heartbeatRollups = roles.has('worker') ? startHeartbeatRollups(db, logger) : null;
  const healthScan = roles.has('worker') ? startHealthScan(db, logger, config.healthScanS * 1000) : null;
  let stopping: Promise<void> | null = null;
  let bootstrap: Tether['bootstrap'] = null;
  let snapshots: { close(): Promise<void> } | null = null;

  return {
    config,
    db,
    logger,
    metrics,
    app,
    broker,
    ingest,
    accounts,
    devices,
    bus,
    alarms: alarmEvaluator,
    alarmOutbox,
    notifications,
    firmware,
    files,
    deployments,
    reports,
    get bootstrap() {
      return bootstrap;
    },
    async start() {
      // PGlite: this process is the only node, so nothing is online before it listens. On
      // PostgreSQL other nodes may hold devices; a dead node's go offline when its lease runs out.
      if (broker && !config.databaseUrl) await devices.markAllOffline();
      if (broker) await presence?.start({ connectedIds: () => broker!.connectedDeviceIds(), holds: (id) => broker!.holdsDevice(id) });
      let mqttPort: number | null = null;
      let mqttsPort: number | null = null;
      if (broker) {
        mqttPort = await broker.listen(config.mqttPort, config.mqttHost).catch((err: NodeJS.ErrnoException) => {
          throw err.code === 'EADDRINUSE' ? new PortInUseError(config.mqttPort, 'MQTT', 'TETHER_MQTT_PORT') : err;
        });
        if (tlsFiles && config.tls) {
          mqttsPort = await broker.listen(config.tls.mqttsPort, config.mqttHost, tlsFiles).catch((err: NodeJS.ErrnoException) => {
            throw err.code === 'EADDRINUSE' ? new PortInUseError(config.tls!.mqttsPort, 'MQTT over TLS', 'TETHER_MQTTS_PORT') : err;
          });
        }
      }
      if (config.mqttUrl && config.brokerCredentials === 'mosquitto-dynsec' && (roles.has('api') || roles.has('ingest'))) {
        // Before the consumer subscribes (its client gets its role here) and before the API takes a device.
        brokerCredentials = await startMosquittoCredentials({
          url: config.mqttUrl,
          logger,
          directory: devices,
          reconcileEveryMs: roles.has('worker') ? BROKER_CREDENTIALS_RECONCILE_MS : null,
        });
        devices.attachCredentialMirror(brokerCredentials.mirror);
      }
      // Unreachable or refused at start: the start fails (ExternalBrokerError); later losses reconnect with backoff.
      await external?.start();
      listening.mqttPort = mqttPort;
      listening.mqttsPort = mqttsPort;
      let httpPort: number | null = null;
      if (app) {
        await app.listen({ port: config.httpPort, host: config.httpHost, backlog: LISTEN_BACKLOG }).catch((err: NodeJS.ErrnoException) => {
          throw err.code === 'EADDRINUSE' ? new PortInUseError(config.httpPort, 'HTTP', 'TETHER_HTTP_PORT') : err;
        });
        httpPort = (app.server.address() as AddressInfo).port;
        listeningHttpPort = httpPort;
      }
      // The embedded database lives in this process: `tether backup` asks it for a consistent snapshot.
      if (db.holdWrites) {
        const { serveSnapshots } = await import('./platform/backup/pglite-snapshot.js');
        snapshots = await serveSnapshots({ db, dataDir: config.dataDir, logger });
      }
      bootstrap = await accounts.bootstrap(config.adminEmail, config.adminPassword);
      await maintenance?.run();
      // After downtime there may be hours to rebuild: start serving meanwhile (history reads minutes until then).
      void hourRollups?.run();
      void heartbeatRollups?.run();
      void healthScan?.run();
      const host = config.httpHost === '0.0.0.0' || config.httpHost === '::' ? 'localhost' : config.httpHost;
      const mhost = config.mqttHost === '0.0.0.0' || config.mqttHost === '::' ? 'localhost' : config.mqttHost;
      const scheme = tlsFiles ? 'https' : 'http';
      return {
        httpUrl: httpPort !== null ? `${scheme}://${host}:${httpPort}` : null,
        mqttUrl: mqttPort !== null ? `mqtt://${mhost}:${mqttPort}` : null,
        wsMqttUrl: httpPort !== null && broker ? `${tlsFiles ? 'wss' : 'ws'}://${host}:${httpPort}/mqtt` : null,
        mqttsUrl: mqttsPort !== null ? `mqtts://${mhost}:${mqttsPort}` : null,
      };
    },
    stop() {
      stopping ??= (async () => {
        maintenance?.stop();
        hub.stop();
        // Stop taking new work, commit what was accepted, then close the broker and the database.
        broker?.stopAccepting();
        commands.releaseWaiters();
        if (app) {
          // A keep-alive connection whose response ends while the server closes would
          // hold the close for Fastify's 72 s keep-alive timeout: close them as they go idle.
          const sweep = setInterval(() => app.server.closeIdleConnections(), 100);
          await app.close().catch((err: unknown) => logger.warn({ err }, 'http close'));
          clearInterval(sweep);
        }
        await ingest.drain();
        if (broker) await broker.close().catch((err: unknown) => logger.warn({ err }, 'broker close'));
        await ingest.drain();
        // After the drain: what was committed is acknowledged to the external broker before the connection ends.
        await external?.close().catch((err: unknown) => logger.warn({ err }, 'external broker close'));
        brokerCredentials?.mirror.close();
        await brokerCredentials?.dynsec.close();
        await presence?.stop();
        await deployments.stopEngine();
        // Committed batches are evaluated, their raises handed to the notifier, deliveries under way ended.
        await alarmEvaluator?.stop();
        await alarmOutbox?.stop();
        await notifications.close();
        mailer?.close();
        await jobs?.stop().catch((err: unknown) => logger.warn({ err }, 'jobs stop'));
        await hourRollups?.stop();
        await heartbeatRollups?.stop();
        await healthScan?.stop();
        await bus.close().catch((err: unknown) => logger.warn({ err }, 'bus close'));
        s3?.close();
        await snapshots?.close();
        await db.close();
      })();
      return stopping;
    },
  };
}
