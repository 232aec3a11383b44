import { parcelEventSample } from '../../src/domain/event-types/parcel-event-created.js';

/** A valid `parcels.event.created` body: the reference file's InTransit example, varied. */
export function parcelEvent(overrides: { parcelId?: number; phase?: string } = {}) {
  return {
    event_type: 'parcels.event.created',
    data: {
      parcel: { ...parcelEventSample.parcel, parcel_id: overrides.parcelId ?? parcelEventSample.parcel.parcel_id },
      event: { ...parcelEventSample.event, phase: overrides.phase ?? parcelEventSample.event.phase },
    },
  };
}
