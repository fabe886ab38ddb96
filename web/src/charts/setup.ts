// Chart.js, with only the parts the dashboard draws registered, so the rest
// is left out of the bundle.
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from 'chart.js';

// Filler shades the forecast's 90% interval.
Chart.register(BarController, BarElement, LineController, LineElement, PointElement, CategoryScale, LinearScale, Tooltip, Legend, Filler);

Chart.defaults.font.family =
  'ui-sans-serif, system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';
Chart.defaults.font.size = 11;
Chart.defaults.color = '#475569';
// Figures refresh every few seconds: no animation, so a chart always shows
// the data it was given (and screenshots are stable).
Chart.defaults.animation = false;
Chart.defaults.maintainAspectRatio = false;

export const COLORS = {
  completed: '#10b981',
  failed: '#ef4444',
  timed_out: '#f59e0b',
  cancelled: '#94a3b8',
  previous: 'rgba(15, 23, 42, 0.22)',
  total: '#0ea5e9',
  success: '#7c3aed',
  grid: '#e2e8f0',
  queue: '#64748b',
  queueMean: '#94a3b8',
  forecast: '#4f46e5',
  forecastBand: 'rgba(79, 70, 229, 0.14)',
  capacity: '#dc2626',
  utilization: '#0ea5e9',
  cpu: '#d97706',
} as const;

export { Chart };
