// The REST API's resources as the console reads them (ProtoJSON: camelCase names, enums
// by name, timestamps as RFC 3339 text, durations as "1.5s"). Only the fields shown here.
export interface Metadata {
  id: string;
  name?: string;
  labels?: Record<string, string>;
  createdAt?: string;
  updatedAt?: string;
  etag?: string;
}

export interface ScheduleRules {
  cronExpressions?: string[];
  intervals?: { every: string; offset?: string }[];
  calendars?: unknown[];
  excludeCalendars?: unknown[];
  at?: string[];
  timezone?: string;
  startTime?: string;
  endTime?: string;
  jitter?: string;
  dstGapPolicy?: string;
  dstOverlapPolicy?: string;
}

export interface Schedule {
  metadata: Metadata;
  spec: {
    initialMessage?: string;
    schedule?: ScheduleRules;
    status?: string;
    overlapPolicy?: string;
    catchupWindow?: string;
    executionTimeout?: string;
    pauseOnFailure?: boolean;
    maxFires?: number;
    notes?: string;
    retryPolicy?: Record<string, unknown>;
  };
  info: {
    agentId?: string;
    description?: string;
    nextFireAt?: string;
    lastFireAt?: string;
    lastObjectiveStatus?: string;
    lastObjectiveId?: string;
    consecutiveFailureCount?: number;
    totalFires?: number;
    missedFires?: number;
    skippedFires?: number;
    manualFires?: number;
    backfillFires?: number;
    remainingFires?: number;
    lastSkipReason?: string;
  };
}

export interface Objective {
  metadata: Metadata;
  spec: {
    initialMessage?: string;
    agentId?: string;
    scheduleId?: string;
    scheduledTime?: string;
    triggerKind?: string;
  };
  info: {
    status?: string;
    attempt?: number;
    workerId?: string;
    startedAt?: string;
    completedAt?: string;
    firedAt?: string;
    deadline?: string;
    output?: unknown;
    error?: string;
    retryOf?: string;
  };
}

export interface Agent {
  metadata: Metadata;
  spec: { description?: string; mode?: string };
}

export interface Webhook {
  metadata: Metadata;
  spec: { url?: string; eventTypes?: string[]; condition?: string; format?: string };
  info: { state?: string; disabledReason?: string; lastSuccessAt?: string; failingSince?: string; secretHint?: string };
}

export interface Delivery {
  metadata: Metadata;
  spec: { eventType?: string; objectiveId?: string; scheduleId?: string; agentId?: string; body?: unknown };
  info: {
    status?: string;
    attempts?: number;
    lastHttpStatus?: number;
    lastError?: string;
    nextAttemptAt?: string;
    lastAttemptAt?: string;
    deliveredAt?: string;
  };
}

export interface ObjectiveStats {
  counts?: Record<string, number>;
  successRate?: number;
  averageDuration?: string;
  p95Duration?: string;
}

export interface Heatmap {
  timeZone?: string;
  days?: { dayOfWeek?: number; hours?: number[] }[];
  total?: number;
}

export interface ParsedSchedule {
  schedule?: ScheduleRules;
  description?: string;
  method?: string;
}

export interface Preview {
  fireTimes?: string[];
  description?: string;
}
