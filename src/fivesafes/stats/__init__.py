"""Statistics for published outputs: SPC the NHS way (Making Data Count) and the
public-health indicator methods behind Fingertips.

Depends only on numpy, scipy and matplotlib, never on other fivesafes stages, so dashboards and
analysts can use it on released aggregates anywhere.
"""

from typing import TYPE_CHECKING

from fivesafes.lazy import exports

if TYPE_CHECKING:  # the names offered here, each imported on first use (see fivesafes.lazy)
    from fivesafes.stats.area_profile import (
        AREA_LEVELS,
        AreaProfile,
        area_profile,
        profile_at_level,
        similar_areas,
        spine_row,
    )
    from fivesafes.stats.attribute_charts import c_chart, p_chart, u_chart
    from fivesafes.stats.bed_occupancy import OccupancyPattern, occupancy_pattern
    from fivesafes.stats.breakdown import Breakdown, breakdown
    from fivesafes.stats.cusum import (
        CusumResult,
        VladResult,
        cusum_arl,
        cusum_path,
        cusum_threshold,
        poisson_cusum_weights,
        ra_cusum,
        vlad,
    )
    from fivesafes.stats.funnel import (
        FunnelResult,
        proportion_funnel,
        proportion_funnel_limits,
        rate_funnel,
        rate_funnel_limits,
    )
    from fivesafes.stats.icons import write_icon
    from fivesafes.stats.indicators import (
        ESP2013,
        ESP2013_BANDS,
        IndicatorValue,
        byars_interval,
        dsr,
        exact_poisson_interval,
        proportion,
        rate,
        wilson_interval,
    )
    from fivesafes.stats.inequality import InequalityIndex, sii
    from fivesafes.stats.its import ItsResult, interrupted_time_series
    from fivesafes.stats.plotting import (
        alt_text,
        plot_funnel,
        plot_run_chart,
        plot_spc,
        save_figure,
    )
    from fivesafes.stats.ratios import (
        RatioFunnel,
        expected_count,
        ratio_funnel,
        standardised_rate,
        standardised_ratio,
    )
    from fivesafes.stats.run_chart import RunChartResult, run_chart
    from fivesafes.stats.spc_model import (
        AssuranceIcon,
        ImprovementDirection,
        PointType,
        SpcGroup,
        SpcPoint,
        SpcResult,
        VariationIcon,
    )
    from fivesafes.stats.spc_rules import Rule
    from fivesafes.stats.waiting_list import (
        WaitingListSimulation,
        WaitingListSummary,
        simulate_waiting_list,
        summarise_waiting_list,
    )
    from fivesafes.stats.workforce import (
        WorkforceProjection,
        project_workforce,
        sickness_absence_rate,
        stability_index,
        turnover_rate,
        vacancy_rate,
    )
    from fivesafes.stats.xmr import xmr
else:
    __getattr__, __dir__ = exports(__name__, __file__)

__all__ = [
    "AREA_LEVELS",
    "ESP2013",
    "ESP2013_BANDS",
    "AreaProfile",
    "AssuranceIcon",
    "Breakdown",
    "CusumResult",
    "FunnelResult",
    "ImprovementDirection",
    "IndicatorValue",
    "InequalityIndex",
    "ItsResult",
    "OccupancyPattern",
    "PointType",
    "RatioFunnel",
    "Rule",
    "RunChartResult",
    "SpcGroup",
    "SpcPoint",
    "SpcResult",
    "VariationIcon",
    "VladResult",
    "WaitingListSimulation",
    "WaitingListSummary",
    "WorkforceProjection",
    "alt_text",
    "area_profile",
    "breakdown",
    "byars_interval",
    "c_chart",
    "cusum_arl",
    "cusum_path",
    "cusum_threshold",
    "dsr",
    "exact_poisson_interval",
    "expected_count",
    "interrupted_time_series",
    "occupancy_pattern",
    "p_chart",
    "plot_funnel",
    "plot_run_chart",
    "plot_spc",
    "poisson_cusum_weights",
    "profile_at_level",
    "project_workforce",
    "proportion",
    "proportion_funnel",
    "proportion_funnel_limits",
    "ra_cusum",
    "rate",
    "rate_funnel",
    "rate_funnel_limits",
    "ratio_funnel",
    "run_chart",
    "save_figure",
    "sickness_absence_rate",
    "sii",
    "similar_areas",
    "simulate_waiting_list",
    "spine_row",
    "stability_index",
    "standardised_rate",
    "standardised_ratio",
    "summarise_waiting_list",
    "turnover_rate",
    "u_chart",
    "vacancy_rate",
    "vlad",
    "wilson_interval",
    "write_icon",
    "xmr",
]
