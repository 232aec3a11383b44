/** A valid `parcels.event.created` body (the reference file's InTransit example). */
export function parcelEvent(overrides: { parcelId?: number; phase?: string } = {}) {
  return {
    event_type: 'parcels.event.created',
    data: {
      parcel: {
        parcel_id: overrides.parcelId ?? 12345678,
        tracking_number: '3SYZXG132912330',
        carrier_code: 'dpd',
        announced_at: '2026-01-15T10:00:00Z',
      },
      event: {
        event_type: 'carrier',
        timestamp: '2026-01-15T10:30:00Z',
        phase: overrides.phase ?? 'in_transit',
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
    },
  };
}
