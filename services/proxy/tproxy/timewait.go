package tproxy

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// After a crash, the proxy's sockets that were closing linger in
// TIME_WAIT for up to 60 s with clients' tuples: the spoofed upstream ones
// (local address a client's) and the intercepted ones (local address a
// server's). With interception off or failing open, the firewall's
// "socket transparent" rule steers forwarded packets of those tuples to
// them, and they are dropped. ClearTimeWait destroys them when the proxy
// starts (see "After a crash" in docs/proxy.md).

// sock_diag(7) message types and sizes.
const (
	sockDiagByFamily = 20 // SOCK_DIAG_BY_FAMILY
	sockDestroy      = 21 // SOCK_DESTROY
	tcpTimeWait      = 6  // TCP_TIME_WAIT
	diagReqLen       = 56 // struct inet_diag_req_v2
	diagMsgLen       = 72 // struct inet_diag_msg
	diagIDOff        = 4  // offset of struct inet_diag_sockid in both
	diagIDLen        = 48
)

// ClearTimeWait destroys the TIME_WAIT TCP sockets of the proxy's network
// namespace whose local address is not one of its own: only transparent
// sockets can have such an address, so they are a previous proxy's. It
// returns how many it destroyed. It needs CAP_NET_ADMIN and a kernel that
// can destroy TIME_WAIT sockets (SOCK_DESTROY, CONFIG_INET_DIAG_DESTROY).
func ClearTimeWait() (int, error) {
	own, err := ownAddrs()
	if err != nil {
		return 0, err
	}
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return 0, fmt.Errorf("socket(NETLINK_SOCK_DIAG): %v", err)
	}
	defer unix.Close(fd)
	n := 0
	var errs []error
	for _, af := range []uint8{unix.AF_INET, unix.AF_INET6} {
		ids, err := dumpTimeWait(fd, af)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, id := range ids {
			if own[sockIDLocal(af, id)] {
				continue
			}
			if err := diagRequest(fd, sockDestroy, 0, af, id); err != nil {
				errs = append(errs, fmt.Errorf("SOCK_DESTROY of a TIME_WAIT socket: %v (a kernel without CONFIG_INET_DIAG_DESTROY, or before Linux 6.11, cannot)", err))
				break
			}
			n++
		}
	}
	return n, errors.Join(errs...)
}

// ownAddrs returns the namespace's own addresses.
func ownAddrs() (map[netip.Addr]bool, error) {
	as, err := net.InterfaceAddrs()
	if err != nil {
		return nil, fmt.Errorf("listing the interfaces' addresses: %v", err)
	}
	own := map[netip.Addr]bool{}
	for _, a := range as {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			own[p.Addr().Unmap()] = true
		}
	}
	return own, nil
}

// sockIDLocal is the local address of an inet_diag_sockid.
func sockIDLocal(af uint8, id [diagIDLen]byte) netip.Addr {
	if af == unix.AF_INET {
		return netip.AddrFrom4([4]byte(id[4:8]))
	}
	return netip.AddrFrom16([16]byte(id[4:20])).Unmap()
}

// dumpTimeWait lists the sockets of family af in TIME_WAIT.
func dumpTimeWait(fd int, af uint8) ([][diagIDLen]byte, error) {
	var id [diagIDLen]byte
	binary.NativeEndian.PutUint32(id[40:], ^uint32(0)) // INET_DIAG_NOCOOKIE
	binary.NativeEndian.PutUint32(id[44:], ^uint32(0))
	if err := send(fd, sockDiagByFamily, unix.NLM_F_DUMP, af, id); err != nil {
		return nil, err
	}
	var ids [][diagIDLen]byte
	buf := make([]byte, 1<<16)
	for {
		k, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return ids, fmt.Errorf("sock_diag dump: recvfrom: %v", err)
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:k])
		if err != nil {
			return ids, fmt.Errorf("sock_diag dump: %v", err)
		}
		for _, m := range msgs {
			switch m.Header.Type {
			case unix.NLMSG_DONE:
				return ids, nil
			case unix.NLMSG_ERROR:
				return ids, fmt.Errorf("sock_diag dump: %v", nlError(m.Data))
			}
			if len(m.Data) >= diagMsgLen && m.Data[1] == tcpTimeWait {
				ids = append(ids, [diagIDLen]byte(m.Data[diagIDOff:diagIDOff+diagIDLen]))
			}
		}
	}
}

// diagRequest sends one request with an acknowledgement and waits for it.
func diagRequest(fd int, typ, flags uint16, af uint8, id [diagIDLen]byte) error {
	if err := send(fd, typ, flags|unix.NLM_F_ACK, af, id); err != nil {
		return err
	}
	buf := make([]byte, 4096)
	k, _, err := unix.Recvfrom(fd, buf, 0)
	if err != nil {
		return fmt.Errorf("recvfrom: %v", err)
	}
	msgs, err := syscall.ParseNetlinkMessage(buf[:k])
	if err != nil {
		return err
	}
	for _, m := range msgs {
		if m.Header.Type == unix.NLMSG_ERROR {
			return nlError(m.Data)
		}
	}
	return nil
}

// send writes an inet_diag_req_v2 for TCP sockets of af in TIME_WAIT.
func send(fd int, typ, flags uint16, af uint8, id [diagIDLen]byte) error {
	const hl = unix.SizeofNlMsghdr
	b := make([]byte, hl+diagReqLen)
	h := (*unix.NlMsghdr)(unsafe.Pointer(&b[0]))
	*h = unix.NlMsghdr{Len: uint32(len(b)), Type: typ, Flags: unix.NLM_F_REQUEST | flags, Pid: 0, Seq: 1}
	r := b[hl:]
	r[0], r[1] = af, unix.IPPROTO_TCP
	binary.NativeEndian.PutUint32(r[4:], 1<<tcpTimeWait)
	copy(r[8:], id[:])
	if err := unix.Sendto(fd, b, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("sendto(NETLINK_SOCK_DIAG): %v", err)
	}
	return nil
}

// nlError is the error of an NLMSG_ERROR payload; nil for an ack.
func nlError(b []byte) error {
	if len(b) < 4 {
		return errors.New("short netlink error")
	}
	if e := int32(binary.NativeEndian.Uint32(b)); e != 0 {
		return os.NewSyscallError("netlink", unix.Errno(-e))
	}
	return nil
}
