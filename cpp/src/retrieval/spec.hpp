// The index specs mlsd supports, parsed and checked before FAISS sees them.
//
// FAISS's index_factory accepts degenerate parameters (a PQ with 0 sub-quantizers, an HNSW graph
// with one neighbour, an IVF with 0 lists) and then aborts, divides by zero or loops forever when
// the index is used; its asserts are not exceptions.  So mlsd accepts only this grammar, with every
// parameter bounded, and hands FAISS nothing else:
//
//   Flat                               mlsd's exact kernel
//   HNSW[<M>][,Flat]                   M in [2, 512] (FAISS's default M is 32)
//   IVF<nlist>,Flat                    nlist in [1, 2^20]
//   [OPQ<m>[_<D>],]IVF<nlist>,PQ<M>[x<nbits>][np]   nbits in [1, 8] (FAISS 1.7.3's IVF-PQ)
//   [OPQ<m>[_<D>],]PQ<M>[x<nbits>][np]              nbits in [1, 16]
//
// M must divide the dimension the PQ sees (D after OPQ, else dim); OPQ's m must divide D <= dim.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "mlsd/common/views.hpp"

namespace mlsd::retrieval::detail {

struct Spec {
  enum class Kind { flat, hnsw, ivf_flat, ivf_pq, pq };
  Kind kind = Kind::flat;
  index_t opq_m = 0;      // 0: no OPQ transform
  index_t opq_d = 0;      // OPQ output dimension (the PQ's input)
  index_t hnsw_m = 0;
  index_t nlist = 0;
  index_t pq_m = 0;
  index_t pq_nbits = 0;
  // Training vectors FAISS needs at least (k-means over nlist lists or 2^nbits centroids).
  index_t min_training_vectors() const;
};

// The spec as quoted in messages: whole when short, else its start and its length.
std::string quote_spec(const std::string& spec);

// Throws mlsd::invalid_argument (naming function, the spec and the parameter) unless spec is in
// the grammar above for vectors of dimension dim.
Spec parse_spec(const std::string& spec, index_t dim, const char* function);

// Vectors handed to FAISS must keep squared distances finite in float: |v| <= this bound for
// every element (FAISS's k-means asserts on infinite distances instead of throwing).
float faiss_max_abs(index_t dim);
// Throws mlsd::invalid_argument naming argument, the row and the column unless every |x| is within
// faiss_max_abs(dim) (x: rows of dimension dim).
void check_faiss_magnitude(std::span<const float> x, index_t dim, const char* function, const char* argument);

}  // namespace mlsd::retrieval::detail
