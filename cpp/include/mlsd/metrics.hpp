// mlsd::metrics — offline evaluation kernels.
//
// Data layout, stated once for the family:
//   * Binary classification: y_true is uint8 in {0, 1} (validate with check_binary_labels /
//     to_binary_labels), scores are finite doubles, sample weights are finite and >= 0; all
//     three are contiguous arrays of the same length n.  An empty weight span means unit weights.
//   * Ranking: CSR.  Query q owns positions [indptr[q], indptr[q+1]) of the flat `relevance`
//     (>= 0, finite) and `score` (finite) arrays.
// Every function runs in a oneTBB arena sized by mlsd::set_num_threads and returns results that
// do not depend on the thread count.  Invalid input throws std::invalid_argument.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "mlsd/common/views.hpp"

namespace mlsd::metrics {

// ---- labels ----------------------------------------------------------------------------------
// Throws unless every value is 0 or 1.  Returns the number of positives.
index_t check_binary_labels(std::span<const std::uint8_t> y);
// Converts numeric labels to uint8, throwing on any value other than 0 or 1 (NaN included).
template <class T>
void to_binary_labels(std::span<const T> y, std::span<std::uint8_t> out);

// ---- threshold curves ------------------------------------------------------------------------
// Cumulative weights of positives (tps) and negatives (fps) at each distinct score, scores
// descending: the confusion matrix at every threshold, as sklearn's _binary_clf_curve.
struct ThresholdCurve {
  std::vector<double> thresholds;  // distinct scores, descending
  std::vector<double> tps;
  std::vector<double> fps;
};
ThresholdCurve threshold_curve(std::span<const std::uint8_t> y_true, std::span<const double> y_score,
                               std::span<const double> sample_weight);

struct RocCurve {
  std::vector<double> fpr, tpr, thresholds;  // thresholds[0] == +inf
};
RocCurve roc_curve(std::span<const std::uint8_t> y_true, std::span<const double> y_score,
                   std::span<const double> sample_weight, bool drop_intermediate);

struct PrCurve {
  std::vector<double> precision, recall, thresholds;  // thresholds ascending, sklearn's order
};
PrCurve precision_recall_curve(std::span<const std::uint8_t> y_true, std::span<const double> y_score,
                               std::span<const double> sample_weight, bool drop_intermediate);

// Area under the ROC curve.  max_fpr in (0, 1): McClish-standardised partial AUC (sklearn).
// Requires both classes.
double roc_auc(std::span<const std::uint8_t> y_true, std::span<const double> y_score,
               std::span<const double> sample_weight, double max_fpr = 1.0);
// Step-wise average precision, sum_i (R_i - R_{i-1}) P_i.  Requires at least one positive.
double average_precision(std::span<const std::uint8_t> y_true, std::span<const double> y_score,
                         std::span<const double> sample_weight);

// ---- mergeable score tables ------------------------------------------------------------------
// The exact summary behind every threshold metric: each distinct score, highest first, with the
// weight of positives and of negatives that have exactly that score.  The table of a union of
// samples is the merge of their tables (weights at equal scores add), so ROC/PR AUC and the curves
// computed from merged per-partition tables equal those of the concatenated data.  A table's size
// is the number of distinct scores, at most the number of samples.
struct ScoreTable {
  buffer<double> score, positive, negative;  // buffer: merges size their output without zero-filling it
};
struct ScoreTableView {
  std::span<const double> score, positive, negative;
};

// Table of (y_true, y_score, sample_weight); zero-weight samples are dropped.
ScoreTable score_table(std::span<const std::uint8_t> y_true, std::span<const double> y_score,
                       std::span<const double> sample_weight);
// Table of the scores mapped to n_bins equal-width bins over [lo, hi] (scores outside go to the end
// bins): each score is replaced by bin_lower_edge(score, lo, hi, n_bins), so the table has at most
// n_bins rows whatever the data.  Metrics from it are those of the binned scores: pairs in different
// bins are ordered exactly, pairs within one bin count as ties.
ScoreTable binned_score_table(std::span<const std::uint8_t> y_true, std::span<const double> y_score,
                              std::span<const double> sample_weight, double lo, double hi, index_t n_bins);
// lo + b * (hi - lo) / n_bins with b = clamp(floor((score - lo) / ((hi - lo) / n_bins)), 0, n_bins - 1).
double bin_lower_edge(double score, double lo, double hi, index_t n_bins);
// Merge of any number of tables.  Throws unless each table's scores are finite and strictly
// decreasing and its weights finite, >= 0 and not both zero in a row.
ScoreTable merge_score_tables(std::span<const ScoreTableView> tables);
// The metrics of a table: the same arithmetic, in the same order, as the functions on raw arrays.
double roc_auc(const ScoreTableView& table, double max_fpr = 1.0);
double average_precision(const ScoreTableView& table);
RocCurve roc_curve(const ScoreTableView& table, bool drop_intermediate);
PrCurve precision_recall_curve(const ScoreTableView& table, bool drop_intermediate);

// ---- threshold metrics by score range ---------------------------------------------------------
// Exact ROC AUC and average precision of a sample spread over many machines, without merging
// tables: rows are regrouped by score range (every row with a given score falls in one range),
// each range is sorted on its own, and its share of the metric follows from the class weights of
// the ranges above it.  The shares add up to the metric of the whole sample.
//
// Range of a score s, given cuts in non-decreasing order: r = #{cuts <= s}, in [0, cuts.size()];
// range cuts.size() holds the highest scores.
struct ScoreRanges {
  buffer<std::uint8_t> y_true;          // rows grouped by range; in input order within a range
  buffer<double> y_score, sample_weight;  // sample_weight is empty when none was given
  std::vector<index_t> offsets;          // range r holds rows [offsets[r], offsets[r + 1])
  std::vector<double> positive, negative;  // class weight of each range (summed in a fixed order)
};
ScoreRanges split_score_ranges(std::span<const std::uint8_t> y_true, std::span<const double> y_score,
                               std::span<const double> sample_weight, std::span<const double> cuts);

// The rows of a block of consecutive score ranges as they arrive from the partitions: one piece
// per partition, holding that partition's rows of the block range by range (range j of the block is
// rows [offsets[j], offsets[j + 1]) of the piece; every piece has the same number of ranges).
struct RangePiece {
  std::span<const std::uint8_t> y_true;
  std::span<const double> y_score, sample_weight;  // sample_weight empty when none was given
  std::span<const index_t> offsets;
};
// Each range's share of the walk over distinct scores, highest first, given the class weights of all
// higher ranges (positive_above[j], negative_above[j] for range j of the block) and of the whole
// sample (total_positive, total_negative).  roc_area is the range's area under the ROC curve up to
// FPR max_fpr (0 unless both totals are > 0); average_precision its sum of (R_i - R_{i-1}) P_i (0
// unless total_positive > 0).  Summed over all ranges: the roc_area gives roc_auc through
// standardized_partial_auc, the average_precision sum gives average_precision (clamped at 0).  The
// ranges are sorted one after the other, each with all threads, reusing one set of buffers.
struct ThresholdRangeSums {
  double roc_area = 0.0;
  double average_precision = 0.0;
};
std::vector<ThresholdRangeSums> threshold_range_sums(std::span<const RangePiece> pieces,
                                                     std::span<const double> positive_above,
                                                     std::span<const double> negative_above, double total_positive,
                                                     double total_negative, double max_fpr = 1.0);
// Each range's score table (a range's scores are all below the next range's, so the tables of a
// sample's ranges, highest range first, concatenate into the sample's table).
std::vector<ScoreTable> range_score_tables(std::span<const RangePiece> pieces);
// sklearn's McClish standardisation of a partial area up to max_fpr < 1; the area itself at 1.
double standardized_partial_auc(double area, double max_fpr);

// ---- probabilistic losses --------------------------------------------------------------------
struct LossSums {
  double loss = 0.0;    // sum of w_i * loss_i
  double weight = 0.0;  // sum of w_i
  double positive = 0.0;  // sum of w_i * y_i
};
// Log loss terms -log(p) (y=1) or -log(1-p) (y=0), p clipped to [eps, 1-eps].  y_prob in [0, 1].
LossSums log_loss_sums(std::span<const std::uint8_t> y_true, std::span<const double> y_prob,
                       std::span<const double> sample_weight, double eps);
// Squared error (y - p)^2.
LossSums brier_sums(std::span<const std::uint8_t> y_true, std::span<const double> y_prob,
                    std::span<const double> sample_weight);

// Per-bin weight, sum of w*p and sum of w*y.  Bin of p = number of inner edges strictly below p
// (numpy.searchsorted(inner_edges, p, side="left")), so there are inner_edges.size() + 1 bins.
struct BinnedStats {
  std::vector<double> weight, sum_prob, sum_true;
};
BinnedStats calibration_bins(std::span<const std::uint8_t> y_true, std::span<const double> y_prob,
                             std::span<const double> sample_weight, std::span<const double> inner_edges);

// ---- group AUC -------------------------------------------------------------------------------
struct GroupAucResult {
  std::vector<std::int64_t> group_keys;  // distinct group keys, ascending
  std::vector<double> auc;               // NaN where the group has a single class
  std::vector<double> weight;            // rows (or summed sample weight) per group
};
// Per-group ROC AUC.  group keys are arbitrary int64 values, unsorted.
GroupAucResult group_auc(std::span<const std::int64_t> groups, std::span<const std::uint8_t> y_true,
                         std::span<const double> y_score, std::span<const double> sample_weight);

// ---- ranking ---------------------------------------------------------------------------------
enum class RankingMetric { dcg, ndcg, precision, recall, hit_rate, reciprocal_rank, average_precision };
enum class Gain { linear, exponential };          // rel, or 2^rel - 1
enum class EmptyAction { zero, one, skip, error };  // queries with no relevant document
struct RankingOptions {
  index_t k = 10;            // cut-off; >= 1.  Larger than a list means the whole list.
  Gain gain = Gain::linear;
  bool ignore_ties = false;  // false: tied scores share their average gain (sklearn's DCG)
  EmptyAction empty = EmptyAction::zero;
};
// Writes one value per query to out (size n_queries); NaN for skipped queries.
// Documents are ranked by score descending.  (N)DCG with ignore_ties=false gives tied documents
// their average gain; with ignore_ties=true the later of two tied documents ranks first
// (scikit-learn's rule); every other metric ranks the earlier of two tied documents first.  A document is relevant when its
// relevance is > 0.
void ranking_metric(RankingMetric metric, CsrView queries, std::span<const double> relevance,
                    std::span<const double> score, const RankingOptions& options, std::span<double> out);

}  // namespace mlsd::metrics
