package main

import (
	"strings"
	"testing"

	"github.com/example/orders/domain/order"
)

// No order of the growing-stream scenario may reach past order.MaxLines: length-1
// lines after the warm-up, one after the restart, and its share of the samples.
func TestStreamOrdersStayUnderMaxLines(t *testing.T) {
	for length := 3; length <= maxStreamLength; length++ {
		for _, samples := range []int{1, 7, 20, 300, 1000} {
			n := streamOrders(length, samples)
			perOrder := (samples + n - 1) / n
			if lines := length + perOrder; lines > order.MaxLines {
				t.Fatalf("length %d, %d samples: %d orders, up to %d lines in one, more than %d", length, samples, n, lines, order.MaxLines)
			}
			if perOrder > max(1, length/10) {
				t.Fatalf("length %d, %d samples: an order grows by %d lines, more than a tenth", length, samples, perOrder)
			}
		}
	}
}

func TestLengthsPastMaxLinesAreRefused(t *testing.T) {
	if _, err := parseFlags(nil); err != nil {
		t.Fatalf("the default lengths: %v", err)
	}
	_, err := parseFlags([]string{"-lengths", "10,1000"})
	if err == nil || !strings.Contains(err.Error(), "order.MaxLines") {
		t.Fatalf("-lengths 10,1000: %v, want an error naming order.MaxLines", err)
	}
	if _, err := parseFlags([]string{"-lengths", "10,100,999"}); err != nil {
		t.Fatalf("-lengths 10,100,999: %v", err)
	}
}

// A hot order of the contention scenario takes contentionLinesPerOrder requests at
// most, well under order.MaxLines.
func TestHotOrdersStayUnderMaxLines(t *testing.T) {
	if contentionLinesPerOrder > order.MaxLines-100 {
		t.Fatalf("a hot order may take %d lines; order.MaxLines is %d", contentionLinesPerOrder, order.MaxLines)
	}
}
