/**
 * Leaflet map of a device's position and track, loaded on demand (its own
 * chunk). Tiles come from OpenStreetMap; offline they fail to load, and the
 * track is still drawn on a blank map, with a note.
 */
import { useEffect, useRef, useState } from 'react';
import L from 'leaflet';
import 'leaflet/dist/leaflet.css';
import { addTiles } from '../locations/map-tiles';

export interface MapPoint {
  lat: number;
  lon: number;
  ts: string;
}

/** `view` names what the track shows (its range): a new one fits the map to the track again. */
export default function DeviceMap({ track, label, view }: { track: MapPoint[]; label: string; view?: string }) {
  const box = useRef<HTMLDivElement>(null);
  const map = useRef<L.Map | null>(null);
  const layers = useRef<{ line: L.Polyline; marker: L.CircleMarker } | null>(null);
  const fitted = useRef(false);
  const [tiles, setTiles] = useState<'loading' | 'ok' | 'failed'>('loading');

  useEffect(() => {
    const m = L.map(box.current!, { scrollWheelZoom: false, keyboard: true, attributionControl: true });
    const stopTiles = addTiles(m, setTiles);
    const style = getComputedStyle(document.documentElement);
    const color = style.getPropertyValue('--chart-line').trim() || '#0f766e';
    const line = L.polyline([], { color, weight: 3, opacity: 0.8 }).addTo(m);
    const marker = L.circleMarker([0, 0], { radius: 8, color: '#fff', weight: 2, fillColor: color, fillOpacity: 1 }).addTo(m);
    layers.current = { line, marker };
    map.current = m;
    m.setView([0, 0], 2);
    const ro = new ResizeObserver(() => m.invalidateSize());
    ro.observe(box.current!);
    return () => {
      stopTiles();
      ro.disconnect();
      m.remove();
      map.current = null;
      layers.current = null;
      fitted.current = false;
    };
  }, []);

  useEffect(() => {
    fitted.current = false;
  }, [view]);

  useEffect(() => {
    const m = map.current;
    const l = layers.current;
    if (!m || !l || !track.length) return;
    const latlngs = track.map((p) => L.latLng(p.lat, p.lon));
    const last = latlngs[latlngs.length - 1]!;
    l.line.setLatLngs(latlngs);
    l.marker.setLatLng(last);
    l.marker.bindTooltip(label);
    if (!fitted.current) {
      fitted.current = true;
      if (latlngs.length > 1) m.fitBounds(L.latLngBounds(latlngs), { padding: [24, 24], maxZoom: 16 });
      else m.setView(last, 14);
    } else if (!m.getBounds().contains(last)) m.panTo(last);
  }, [track, label, view]);

  return (
    <div className={tiles === 'failed' ? 'map-wrap map-blank' : 'map-wrap'}>
      {/* Leaflet owns this element's classes: React must never re-render its className. */}
      <div ref={box} className="map" role="region" aria-label={`Map: ${label}`} />
      {tiles === 'failed' && (
        <p className="notice small" role="note">
          Map tiles could not be loaded (no internet access?). The position and track are drawn on a blank map.
        </p>
      )}
    </div>
  );
}
