/** `parcels.event.created`, transcribed from the reference OpenAPI file's components. */
const nullable = (type: string, extra: object = {}) => ({ type: [type, 'null'], ...extra });

const enums = {
  eventType: ['carrier', 'internal', 'calculated', 'claim'],
  phase: [
    'accepted', 'announced', 'announcing', 'attempted', 'cancelled', 'customs', 'delivered', 'delivery_forced',
    'dropped', 'in_delivery', 'in_transit', 'labelled', 'none', 'no_label', 'pup', 'ready_to_send', 'sorted', 'unknown',
  ],
  exception: [
    'address_error', 'announcement_failed', 'cancellation_failed', 'cancelled', 'cancelled_upstream', 'cancelling',
    'cancelling_upstream', 'changed', 'claim', 'claimable', 'customer_rejected', 'customer_support', 'customs_issue',
    'damaged', 'delay_unknown', 'delivery_delay', 'dropoff_expiration', 'handover_delay', 'hold', 'missing', 'none',
    'non_conformity', 'off_radar', 'pup_expiration', 'refused', 'relabelled', 'returned_sender', 'sorting_delay',
    'unknown',
  ],
  statusType: ['error', 'success', 'warning'],
  subStatus: [
    'accepted', 'additional_information', 'carrier', 'company_closed', 'connection_missed', 'content', 'cut_off',
    'damaged', 'delay', 'delivery_change', 'disposed', 'documents', 'duplicate', 'expired', 'high_volume',
    'inaccessible', 'incorrect_information', 'in_progress', 'late', 'locker', 'mailbox', 'max_measure', 'max_weight',
    'mechanical', 'misrouted', 'missort', 'neighbour', 'none', 'not_home', 'not_ordered', 'one', 'packaging',
    'parcel_found', 'partly', 'passed', 'payment', 'postal_box', 'prohibited_item', 'pup', 'pup_closed', 'receiver',
    'rejected', 'requested', 'resolved', 'safeplace', 'sender', 'shop', 'signature', 'three', 'traffic', 'two',
    'undeliverable', 'unknown', 'unknown_receiver', 'updated', 'weather_conditions',
  ],
};

const location = {
  type: 'object',
  properties: {
    city: nullable('string'),
    country: nullable('string'),
    house_number: nullable('string'),
    postal_code: nullable('string'),
    street: nullable('string'),
    service_point_id: nullable('integer'),
    depot: nullable('string'),
  },
};

/** The `data` member of the event. */
export const parcelEventData = {
  type: 'object',
  required: ['parcel', 'event'],
  properties: {
    parcel: {
      type: 'object',
      required: ['parcel_id', 'carrier_code'],
      properties: {
        parcel_id: { type: 'integer' },
        tracking_number: nullable('string'),
        carrier_code: { type: 'string' },
        announced_at: nullable('string', { format: 'date-time' }),
      },
    },
    event: {
      type: 'object',
      required: ['event_type', 'timestamp', 'phase', 'exception', 'status_type', 'sub_status'],
      properties: {
        event_type: { type: 'string', enum: enums.eventType },
        timestamp: { type: 'string', format: 'date-time' },
        phase: { type: 'string', enum: enums.phase },
        exception: { type: 'string', enum: enums.exception },
        status_type: { type: 'string', enum: enums.statusType },
        sub_status: { type: 'string', enum: enums.subStatus },
        description: nullable('string'),
        end_of_tracking: nullable('boolean'),
        is_offered: nullable('boolean'),
        is_carrier_responsible: nullable('boolean'),
        is_returned: nullable('boolean'),
        location_details: { anyOf: [location, { type: 'null' }] },
        extra_data: nullable('object'),
      },
    },
  },
};

/** The spec's `InTransit` example: the sample sent by broadcast tests. */
export const parcelEventSample = {
  parcel: {
    parcel_id: 12345678,
    tracking_number: '3SYZXG132912330',
    carrier_code: 'dpd',
    announced_at: '2026-01-15T10:00:00Z',
  },
  event: {
    event_type: 'carrier',
    timestamp: '2026-01-15T10:30:00Z',
    phase: 'in_transit',
    exception: 'none',
    status_type: 'success',
    sub_status: 'none',
    description: 'Parcel is on its way',
    end_of_tracking: false,
    is_offered: false,
    is_carrier_responsible: null,
    is_returned: false,
    location_details: {
      city: 'Eindhoven',
      country: 'NL',
      house_number: null,
      postal_code: null,
      street: null,
      service_point_id: null,
      depot: null,
    },
    extra_data: null,
  },
};
