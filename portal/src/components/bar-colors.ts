/** The chart's two colours, shared by the bars and the legend beside them. */
export const BAR_COLORS = { succeeded: '#12b886', failed: '#fa5252' };
