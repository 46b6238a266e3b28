/**
 * Leaflet map of every device's last known position, with clustered markers
 * (leaflet.markercluster). Loaded on demand, its own chunk with Leaflet.
 */
import { useEffect, useRef, useState } from 'react';
import L from 'leaflet';
import 'leaflet.markercluster';
import 'leaflet/dist/leaflet.css';
import 'leaflet.markercluster/dist/MarkerCluster.css';
import 'leaflet.markercluster/dist/MarkerCluster.Default.css';
import { navigate } from '../../lib/router';
import { formatDateTimeZone } from '../../lib/time';
import { addTiles } from './map-tiles';

export interface FleetPosition {
  id: string;
  name: string;
  online: boolean;
  lastSeenAt: string | null;
  lat: number;
  lon: number;
  at: string;
}

const icon = (p: FleetPosition) =>
  L.divIcon({
    className: `fleet-marker ${p.online ? 'fleet-marker-online' : 'fleet-marker-offline'}`,
    html: `<span class="fleet-marker-dot" data-device-id="${p.id}"></span>`,
    iconSize: [18, 18],
    iconAnchor: [9, 9],
    popupAnchor: [0, -8],
  });

/** The popup: the device's name, status and position, and a link to its page (client-side navigation). */
function popup(p: FleetPosition): HTMLElement {
  const el = document.createElement('div');
  el.className = 'fleet-popup';
  el.dataset.deviceId = p.id;
  const name = document.createElement('strong');
  name.textContent = p.name;
  const status = document.createElement('div');
  status.className = p.online ? 'fleet-popup-status online' : 'fleet-popup-status offline';
  status.textContent = p.online ? 'Online' : `Offline${p.lastSeenAt ? ` · last seen ${formatDateTimeZone(p.lastSeenAt)}` : ''}`;
  const where = document.createElement('div');
  where.className = 'muted small';
  where.textContent = `${p.lat.toFixed(5)}, ${p.lon.toFixed(5)} at ${formatDateTimeZone(p.at)}`;
  const link = document.createElement('a');
  link.href = `/devices/${p.id}`;
  link.textContent = 'Open device';
  link.addEventListener('click', (e) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(`/devices/${p.id}`);
  });
  el.append(name, status, where, link);
  return el;
}

/**
 * `positions` by device id; `version` is bumped when it changed in place. Markers are
 * kept per device and moved, so a live update moves one marker (the cluster layer
 * re-clusters a moved marker by itself).
 */
export default function FleetMap({ positions, version, label }: { positions: Map<string, FleetPosition>; version: number; label: string }) {
  const box = useRef<HTMLDivElement>(null);
  const map = useRef<L.Map | null>(null);
  const cluster = useRef<L.MarkerClusterGroup | null>(null);
  const markers = useRef(new Map<string, { marker: L.Marker; shown: FleetPosition }>());
  const fitted = useRef(false);
  const [tiles, setTiles] = useState<'loading' | 'ok' | 'failed'>('loading');

  useEffect(() => {
    const m = L.map(box.current!, { scrollWheelZoom: true, keyboard: true, attributionControl: true, worldCopyJump: true });
    const stopTiles = addTiles(m, setTiles);
    const group = L.markerClusterGroup({ showCoverageOnHover: false, maxClusterRadius: 50, chunkedLoading: true });
    group.addTo(m);
    m.setView([20, 0], 2);
    map.current = m;
    cluster.current = group;
    const ro = new ResizeObserver(() => m.invalidateSize());
    ro.observe(box.current!);
    const known = markers.current;
    return () => {
      stopTiles();
      ro.disconnect();
      m.remove();
      map.current = null;
      cluster.current = null;
      known.clear();
      fitted.current = false;
    };
  }, []);

  useEffect(() => {
    const m = map.current;
    const group = cluster.current;
    if (!m || !group) return;
    const known = markers.current;
    const added: L.Marker[] = [];
    for (const p of positions.values()) {
      const k = known.get(p.id);
      if (!k) {
        const marker = L.marker([p.lat, p.lon], { icon: icon(p), title: p.name, alt: p.name, keyboard: true });
        marker.bindPopup(() => popup(known.get(p.id)?.shown ?? p));
        known.set(p.id, { marker, shown: p });
        added.push(marker);
        continue;
      }
      if (k.shown === p) continue;
      if (k.shown.lat !== p.lat || k.shown.lon !== p.lon) k.marker.setLatLng([p.lat, p.lon]);
      if (k.shown.online !== p.online) k.marker.setIcon(icon(p));
      k.shown = p;
      if (k.marker.isPopupOpen()) k.marker.setPopupContent(popup(p));
    }
    for (const [id, k] of known) {
      if (!positions.has(id)) {
        group.removeLayer(k.marker);
        known.delete(id);
      }
    }
    if (added.length) group.addLayers(added);
    if (!fitted.current && positions.size) {
      fitted.current = true;
      const bounds = L.latLngBounds([...positions.values()].map((p) => L.latLng(p.lat, p.lon)));
      if (positions.size > 1) m.fitBounds(bounds, { padding: [32, 32], maxZoom: 14 });
      else m.setView(bounds.getCenter(), 12);
    }
  }, [positions, version]);

  return (
    <div className={tiles === 'failed' ? 'map-wrap map-blank' : 'map-wrap'}>
      {/* Leaflet owns this element's classes: React must never re-render its className. */}
      <div ref={box} className="map fleet-map" role="region" aria-label={label} data-testid="fleet-map" />
      {tiles === 'failed' && (
        <p className="notice small" role="note">
          Map tiles could not be loaded (no internet access?). The devices are drawn on a blank map.
        </p>
      )}
    </div>
  );
}
