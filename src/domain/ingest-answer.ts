/** What ingest takes in and answers, shared by the event service and its group commit. */

export interface EventInput {
  event_type: string;
  data: unknown;
  profile?: Record<string, string>;
}

export interface AcceptedEvent {
  id: number;
  event_type: string;
  created_at: string;
  deliveries: number;
}

/** What an ingest request answers; replayed as-is for a repeated Idempotency-Key. */
export interface IngestAnswer {
  accepted: AcceptedEvent[];
  replayed: boolean;
}
