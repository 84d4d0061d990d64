// Entry: create the state once and render. No logic here.
import { render } from 'preact';
import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { App } from './components/app/index.tsx';
import { createAppState } from './state.ts';

render(<App state={createAppState()} />, document.getElementById('app')!);
