/**
 * OpenStreetMap tiles for the Leaflet maps (a device's track, the fleet map).
 * Offline they fail to load: the maps then say so and draw on a blank background.
 */
import L from 'leaflet';

const TILE_URL = 'https://tile.openstreetmap.org/{z}/{x}/{y}.png';
const TILE_TIMEOUT_MS = 8000;

/** Adds the tile layer; `onState` hears 'ok' at the first tile, 'failed' if none loads. Returns the cleanup. */
export function addTiles(m: L.Map, onState: (s: 'ok' | 'failed') => void): () => void {
  let loaded = false;
  const layer = L.tileLayer(TILE_URL, { maxZoom: 19, attribution: '© OpenStreetMap contributors' });
  layer.on('tileload', () => {
    loaded = true;
    onState('ok');
  });
  layer.on('tileerror', () => {
    if (!loaded) onState('failed');
  });
  layer.addTo(m);
  const timeout = setTimeout(() => {
    if (!loaded) onState('failed');
  }, TILE_TIMEOUT_MS);
  return () => clearTimeout(timeout);
}
